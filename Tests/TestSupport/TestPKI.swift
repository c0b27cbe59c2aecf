import Foundation

/// A throwaway two-tier PKI made with the `openssl` command line, for tests that need real TLS before
/// the project's own CA is at hand: a root, an issuing CA, a broker certificate for 127.0.0.1/localhost
/// and client certificates (ECDSA P-256) with CN = identity and the fleet's SAN URI.
///
/// Files: `root.pem`, `issuing.pem`, `chain.pem` (issuing CA), `broker.pem`/`broker.key`, and for each
/// client `NAME.pem` (leaf), `NAME-full.pem` (leaf + issuing CA) and `NAME.key`.
public final class TestPKI: @unchecked Sendable {  // files are written once in init and read afterwards
    public let directory: TemporaryDirectory

    public var rootFile: String { directory.file("root.pem") }
    public var chainFile: String { directory.file("chain.pem") }
    public var brokerCertificateFile: String { directory.file("broker-full.pem") }
    public var brokerKeyFile: String { directory.file("broker.key") }

    /// Creates the CA pair and the broker's certificate.
    public init() throws {
        directory = try TemporaryDirectory("fleet-pki")
        try writeExtensions()
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("root.key")])
        try openssl([
            "req", "-x509", "-new", "-key", path("root.key"), "-subj", "/CN=Test Fleet Root", "-days", "30",
            "-sha256", "-extensions", "ca", "-config", path("ext.cnf"), "-out", path("root.pem"),
        ])
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("issuing.key")])
        try openssl([
            "req", "-new", "-key", path("issuing.key"), "-subj", "/CN=Test Fleet Issuing", "-out",
            path("issuing.csr"),
        ])
        try openssl([
            "x509", "-req", "-in", path("issuing.csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"),
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", path("ext.cnf"), "-extensions", "ca",
            "-out", path("issuing.pem"),
        ])
        try FileManager.default.copyItem(atPath: path("issuing.pem"), toPath: chainFile)
        try issue(name: "broker", subject: "/CN=localhost", extensions: "server")
    }

    /// Issues a client certificate for a device (SAN `urn:fleet:device:ID`) and returns its paths.
    @discardableResult
    public func device(_ id: String, days: Int = 30) throws -> TLSFiles {
        try client(id, uri: "urn:fleet:device:\(id)", days: days)
    }

    /// Issues a client certificate for a back-end service (SAN `urn:fleet:service:NAME`).
    @discardableResult
    public func service(_ name: String) throws -> TLSFiles {
        try client(name, uri: "urn:fleet:service:\(name)", days: 30)
    }

    private func client(_ name: String, uri: String, days: Int) throws -> TLSFiles {
        let section = "client_\(name.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_"))"
        let text = """

            [\(section)]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = clientAuth
            subjectAltName = URI:\(uri)

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path("ext.cnf")))
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
        try issue(name: name, subject: "/CN=\(name)", extensions: section, days: days)
        return TLSFiles(
            certificate: path("\(name).pem"), fullChain: path("\(name)-full.pem"), key: path("\(name).key"),
            ca: rootFile, chain: chainFile)
    }

    private func issue(name: String, subject: String, extensions: String, days: Int = 30) throws {
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("\(name).key")])
        try openssl(["req", "-new", "-key", path("\(name).key"), "-subj", subject, "-out", path("\(name).csr")])
        try openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("issuing.pem"), "-CAkey",
            path("issuing.key"), "-CAcreateserial", "-days", "\(days)", "-sha256", "-extfile", path("ext.cnf"),
            "-extensions", extensions, "-out", path("\(name).pem"),
        ])
        let full =
            try String(contentsOfFile: path("\(name).pem"), encoding: .utf8)
            + String(contentsOfFile: path("issuing.pem"), encoding: .utf8)
        try full.write(toFile: path("\(name)-full.pem"), atomically: true, encoding: .utf8)
        chmod(path("\(name).key"), 0o600)
    }

    /// The TLS lines of a test broker's configuration: client certificates required, identity as user name.
    public func brokerTLSConfiguration(aclFile: String? = nil) -> String {
        var lines = [
            "cafile \(rootFile)", "certfile \(brokerCertificateFile)", "keyfile \(brokerKeyFile)",
            "require_certificate true", "use_identity_as_username true", "use_username_as_clientid true",
            "tls_version tlsv1.2",
        ]
        if let aclFile { lines.append("acl_file \(aclFile)") }
        return lines.joined(separator: "\n")
    }

    private func path(_ name: String) -> String { directory.file(name) }

    private func writeExtensions() throws {
        let text = """
            [req]
            distinguished_name = dn
            [dn]
            [ca]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            authorityKeyIdentifier = keyid:always
            [server]
            basicConstraints = critical,CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = IP:127.0.0.1,DNS:localhost

            """
        try text.write(toFile: path("ext.cnf"), atomically: true, encoding: .utf8)
    }

    private func openssl(_ arguments: [String]) throws {
        let installed = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        let result = try runCommand(installed ?? resolveExecutable("openssl"), arguments)
        guard result.status == 0 else {
            throw BrokerStartError(message: "openssl \(arguments.first ?? "") failed: \(result.standardError)")
        }
    }
}

/// The files of one client identity from `TestPKI`.
public struct TLSFiles: Sendable {
    /// The leaf certificate alone.
    public let certificate: String
    /// The leaf followed by the issuing CA: what a TLS client presents.
    public let fullChain: String
    public let key: String
    /// The root the broker's certificate chains to.
    public let ca: String
    /// The issuing CA alone.
    public let chain: String
}
