import Foundation
import TestSupport
import Testing

/// A CA made by the real `fleetctl ca init` in a temporary folder, and the real tools to inspect it.
final class CATestHome: @unchecked Sendable {  // used from one test at a time
    let folder: TemporaryDirectory
    var home: String { folder.file("ca") }
    var rootPath: String { home + "/root/root.pem" }
    var issuingPath: String { home + "/issuing/issuing.pem" }
    var crlPath: String { home + "/crl.pem" }

    init(_ initArguments: [String] = []) throws {
        folder = try TemporaryDirectory("fleet-ca")
        let result = try fleetctl(["ca", "init"] + initArguments)
        guard result.status == 0 else { throw TestFailure("ca init failed: \(result)") }
    }

    /// Runs the built `fleetctl` with `--home` pointing here.
    func fleetctl(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try runCommand(builtProduct("fleetctl"), arguments + ["--home", home], environment: environment)
    }

    func file(_ name: String) -> String { folder.file(name) }

    /// `openssl verify -x509_strict -purpose sslclient` with the root trusted and the intermediate untrusted.
    func verifyClient(_ certificate: String, crl: Bool = false) throws -> CommandResult {
        var arguments = [
            "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", rootPath, "-untrusted", issuingPath,
        ]
        if crl { arguments += ["-crl_check", "-CRLfile", crlPath] }
        return try runCommand("openssl", arguments + [certificate])
    }

    /// A CSR made by `openssl req` with `keyArguments` (e.g. `["-newkey", "rsa:2048"]`).
    func opensslRequest(_ name: String, subject: String, keyArguments: [String], extra: [String] = []) throws -> String
    {
        let path = file("\(name).csr")
        let result = try runCommand(
            "openssl",
            ["req", "-new", "-nodes", "-keyout", file("\(name).key"), "-subj", subject]
                + keyArguments + extra + ["-out", path])
        guard result.status == 0 else { throw TestFailure("openssl req failed: \(result)") }
        return path
    }

    /// A CSR made by Python `cryptography` for `kind` (`p256`, `rsa2048`, `ed25519`).
    func pythonRequest(_ name: String, commonName: String, kind: String) throws -> String {
        let path = file("\(name).csr")
        let script = """
            import sys
            from cryptography import x509
            from cryptography.x509.oid import NameOID
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec, rsa, ed25519
            kind, cn, out = sys.argv[1:4]
            if kind == "p256":
                key, digest = ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()
            elif kind == "rsa2048":
                key, digest = rsa.generate_private_key(public_exponent=65537, key_size=2048), hashes.SHA256()
            else:
                key, digest = ed25519.Ed25519PrivateKey.generate(), None
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
            csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, digest)
            open(out, "wb").write(csr.public_bytes(serialization.Encoding.PEM))
            """
        let result = try runCommand(interopPython(), ["-c", script, kind, commonName, path])
        guard result.status == 0 else { throw TestFailure("python cryptography failed: \(result)") }
        return path
    }

    /// The number of certificates and audit records, to show that a refused command wrote nothing.
    func inventoryCounts() throws -> (certificates: Int, audit: Int) {
        let list = try fleetctl(["list", "--json", "--state", "active"])
        let audit = try fleetctl(["audit", "--json"])
        return (try jsonArray(list.standardOutput).count, try jsonArray(audit.standardOutput).count)
    }
}

/// A failure in a test's own setup.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses a JSON array of objects.
func jsonArray(_ text: String) throws -> [[String: Any]] {
    guard let value = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
        throw TestFailure("not a JSON array of objects: \(text.prefix(200))")
    }
    return value
}

/// Parses a JSON object.
func jsonObject(_ text: String) throws -> [String: Any] {
    guard let value = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw TestFailure("not a JSON object: \(text.prefix(200))")
    }
    return value
}

/// pkilint's error- and fatal-level findings for a certificate (`lint_pkix_cert`) or a CRL (`lint_crl -t CRL -p PKIX`).
///
/// One finding is set aside: pkilint checks URIs with the `validators` package's `url()`, which accepts
/// only `scheme://host` URLs and so flags every URN (`urn:isbn:...` too), although RFC 5280 4.2.1.6 asks
/// only for an absolute URI with a scheme, which `urn:fleet:device:<id>` is. Each URN set aside is checked
/// here against RFC 3986's absolute-URI form instead.
func pkilintErrors(_ path: String, crl: Bool = false) throws -> [String] {
    let bin = URL(fileURLWithPath: interopPython()).deletingLastPathComponent().path
    let arguments =
        crl
        ? ["lint", "-t", "CRL", "-p", "PKIX", "-s", "ERROR", "-f", "JSON", path]
        : ["lint", "-s", "ERROR", "-f", "JSON", path]
    let result = try runCommand(bin + (crl ? "/lint_crl" : "/lint_pkix_cert"), arguments)
    let report = try jsonObject(result.standardOutput)
    var errors: [String] = []
    for entry in report["results"] as? [[String: Any]] ?? [] {
        for finding in entry["finding_descriptions"] as? [[String: Any]] ?? [] {
            let code = finding["code"] as? String ?? ""
            let message = finding["message"] as? String ?? ""
            if code == "pkix.invalid_uri_syntax", let urn = quotedURN(message), isAbsoluteURN(urn) { continue }
            errors.append("\(finding["severity"] ?? "?") \(code) \(message) at \(entry["node_path"] ?? "?")")
        }
    }
    if result.status != 0 && errors.isEmpty && (report["results"] as? [Any])?.isEmpty != false {
        errors.append("pkilint failed: \(result)")
    }
    return errors
}

private func quotedURN(_ message: String) -> String? {
    guard let start = message.range(of: "\"urn:fleet:"), let end = message[start.upperBound...].firstIndex(of: "\"")
    else {
        return nil
    }
    return String(message[message.index(after: start.lowerBound)..<end])
}

/// `urn:fleet:(device|service):<id>` with the id charset: a scheme, then a path of unreserved characters and ':'.
private func isAbsoluteURN(_ text: String) -> Bool {
    text.range(of: #"^urn:fleet:(device|service):[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"#, options: .regularExpression) != nil
}
