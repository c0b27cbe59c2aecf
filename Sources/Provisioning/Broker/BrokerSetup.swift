import AtomicFiles
import FleetCA
import Foundation
import PKI

/// `fleetctl broker init`: a broker folder a stock Mosquitto 2.0 can run from, with a server certificate
/// from the fleet's CA, the trust anchors, the CRL, the exported ACL, two canary credentials and a
/// `mosquitto.conf` that ties them together (see `BrokerLayout` and `MosquittoConfiguration`).
public enum BrokerSetup {
    /// What `broker init` is told.
    public struct Options: Sendable {
        public var hostNames: [String]
        public var ipAddresses: [String]
        public var port: UInt16
        public var bindAddress: String
        public var policies: String
        public var persistence: Bool

        public init(
            hostNames: [String] = ["localhost"], ipAddresses: [String] = ["127.0.0.1"], port: UInt16 = 8883,
            bindAddress: String = "127.0.0.1", policies: String, persistence: Bool = true
        ) {
            self.hostNames = hostNames
            self.ipAddresses = ipAddresses
            self.port = port
            self.bindAddress = bindAddress
            self.policies = policies
            self.persistence = persistence
        }
    }

    /// Writes the broker folder. Refuses a folder that already holds a broker configuration.
    @discardableResult
    public static func initialize(
        layout: BrokerLayout, authority: CertificateAuthority, options: Options, now: Date = Date()
    ) throws -> BrokerSync.Report {
        guard !FileManager.default.fileExists(atPath: layout.configurationPath) else {
            throw ProvisioningError(
                "'\(layout.folder)' already holds a broker configuration; update it with "
                    + "'fleetctl broker sync --dir \(layout.folder)' or choose another folder")
        }
        var ipAddresses = options.ipAddresses
        if !ipAddresses.contains("127.0.0.1") { ipAddresses.append("127.0.0.1") }
        let policies = absolute(options.policies)
        guard FileManager.default.fileExists(atPath: policies) else {
            throw ProvisioningError("the policies folder '\(options.policies)' does not exist; pass --policies DIR")
        }

        let owner = BrokerFileOwner()
        try owner.checkReachable(layout.folder)
        try owner.makeFolder(layout.folder, writable: false)
        try owner.makeFolder(layout.dataFolder, writable: true)
        try AtomicFile.makeFolder(layout.canaryFolder, mode: 0o700)

        let server = try authority.issueServerCertificate(
            hostNames: options.hostNames, ipAddresses: ipAddresses,
            now: now)
        guard let serverKey = server.privateKey else { throw ProvisioningError("the CA returned no server key") }
        try owner.write(server.record.pem + authority.chainPEM, to: layout.serverCertificatePath, secret: false)
        try owner.write(try serverKey.pem(), to: layout.serverKeyPath, secret: true)
        try owner.write(authority.rootPEM + authority.chainPEM, to: layout.caPath, secret: false)

        let record = BrokerRecord(
            home: absolute(authority.home.path), policies: policies, port: options.port,
            bindAddress: options.bindAddress, hostNames: options.hostNames, ipAddresses: ipAddresses)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(Array(try encoder.encode(record)) + [10], to: layout.recordPath, mode: 0o644)

        let report = try BrokerSync(layout: layout, authority: authority, record: record).installFiles(now: now)
        let configuration = MosquittoConfiguration(
            bindAddress: options.bindAddress, port: options.port, caFile: layout.caPath,
            certFile: layout.serverCertificatePath, keyFile: layout.serverKeyPath, crlFile: layout.crlPath,
            aclFile: layout.aclPath, persistenceDirectory: options.persistence ? layout.dataFolder : nil,
            pidFile: layout.pidPath, logFile: layout.logPath)
        try owner.write(configuration.render(), to: layout.configurationPath, secret: false)
        return report
    }

    static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }
}
