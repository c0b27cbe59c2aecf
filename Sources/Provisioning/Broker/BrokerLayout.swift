import Foundation

/// The files of one broker folder written by `fleetctl broker init` and kept up to date by `broker sync`.
///
/// ```
/// DIR/mosquitto.conf   the configuration (MosquittoConfiguration)
/// DIR/broker.json      what init was told: CA home, policies, port, host names
/// DIR/ca.pem           root and issuing CA: the trust anchors for client certificates
/// DIR/server.pem       the broker's certificate followed by the issuing CA
/// DIR/server.key       its key
/// DIR/crl.pem          the issuing CA's CRL
/// DIR/acl.conf         the exported ACL
/// DIR/canary/good/     a client credential the broker must accept
/// DIR/canary/revoked/  a client credential the CA revoked on purpose, which the broker must refuse
/// DIR/data/            persistence, pid file and log, writable by the broker's own user
/// ```
public struct BrokerLayout: Sendable {
    public let folder: String

    /// `folder` is made absolute, since mosquitto.conf needs absolute paths.
    public init(folder: String) {
        let absolute = folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
        self.folder = URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    public var configurationPath: String { folder + "/mosquitto.conf" }
    public var recordPath: String { folder + "/broker.json" }
    public var caPath: String { folder + "/ca.pem" }
    public var serverCertificatePath: String { folder + "/server.pem" }
    public var serverKeyPath: String { folder + "/server.key" }
    public var crlPath: String { folder + "/crl.pem" }
    public var aclPath: String { folder + "/acl.conf" }
    public var canaryFolder: String { folder + "/canary" }
    public var dataFolder: String { folder + "/data" }
    public var pidPath: String { dataFolder + "/mosquitto.pid" }
    public var logPath: String { dataFolder + "/mosquitto.log" }

    /// The folder of one canary credential (`good` or `revoked`).
    public func canary(_ which: CanaryCredential.Role) -> String { canaryFolder + "/" + which.rawValue }
}

/// What `broker init` was told, kept so that `broker sync` builds the same files.
public struct BrokerRecord: Codable, Sendable, Equatable {
    public var home: String
    public var policies: String
    public var port: UInt16
    public var bindAddress: String
    public var hostNames: [String]
    public var ipAddresses: [String]

    public init(
        home: String, policies: String, port: UInt16, bindAddress: String, hostNames: [String], ipAddresses: [String]
    ) {
        self.home = home
        self.policies = policies
        self.port = port
        self.bindAddress = bindAddress
        self.hostNames = hostNames
        self.ipAddresses = ipAddresses
    }
}
