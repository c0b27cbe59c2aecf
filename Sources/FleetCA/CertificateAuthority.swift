import Foundation
import PKI
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// The fleet's certificate authority: a root, an issuing intermediate, and the inventory.
///
/// Open one with `open(home:passphrase:)` (or make a new one with `create`). Every operation that
/// changes state runs in one `BEGIN IMMEDIATE` transaction and leaves one audit record per subject,
/// so several processes may use the same home at once. An instance is used by one thread at a time.
public final class CertificateAuthority {
    /// The home folder this CA lives in.
    public let home: CAHome
    /// The settings read from `config.json`.
    public let configuration: CAConfiguration
    /// The root certificate (trust anchor).
    public let rootCertificate: Certificate
    /// The issuing intermediate that signs devices, services, servers and CRLs.
    public let issuingCertificate: Certificate

    let database: Database
    let audit: AuditLog
    private let passphrase: String?
    private var loadedIssuingKey: PrivateKey?

    init(
        home: CAHome, configuration: CAConfiguration, root: Certificate, issuing: Certificate,
        database: Database, passphrase: String?, issuingKey: PrivateKey? = nil
    ) {
        self.home = home
        self.configuration = configuration
        self.rootCertificate = root
        self.issuingCertificate = issuing
        self.database = database
        self.passphrase = passphrase
        self.loadedIssuingKey = issuingKey
        self.audit = AuditLog(database: database, actor: CertificateAuthority.actorName())
    }

    /// Opens the CA in `home`. `passphrase` is needed only to sign when the keys are stored encrypted.
    public static func open(home: CAHome, passphrase: String? = nil) throws -> CertificateAuthority {
        guard FileManager.default.fileExists(atPath: home.configurationPath) else {
            throw FleetCAError(
                .home,
                "no CA in '\(home.path)' (no config.json); create one with 'fleetctl ca init --home \(home.path)'")
        }
        let configuration: CAConfiguration
        do {
            configuration = try JSONDecoder().decode(
                CAConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: home.configurationPath)))
        } catch {
            throw FleetCAError(.home, "cannot read the CA settings '\(home.configurationPath)': \(error)")
        }
        let root = try Certificate(pem: SecureFile.read(home.rootCertificatePath, what: "the root certificate"))
        let issuing = try Certificate(
            pem: SecureFile.read(home.issuingCertificatePath, what: "the issuing CA certificate"))
        guard FileManager.default.fileExists(atPath: home.inventoryPath) else {
            throw FleetCAError(.home, "the inventory '\(home.inventoryPath)' is missing")
        }
        let database = try Database(path: home.inventoryPath)
        try database.migrate(InventorySchema.migrations)
        return CertificateAuthority(
            home: home, configuration: configuration, root: root, issuing: issuing,
            database: database, passphrase: passphrase)
    }

    /// The issuing CA's private key, read (and decrypted) on first use.
    func issuingKey() throws -> PrivateKey {
        if let loadedIssuingKey { return loadedIssuingKey }
        let pem = try SecureFile.read(home.issuingKeyPath, what: "the issuing CA key")
        if configuration.encryptedKeys && passphrase == nil {
            throw FleetCAError(
                .invalidInput,
                "the CA keys in '\(home.path)' are encrypted; give the passphrase with --passphrase-file FILE")
        }
        let key = try PrivateKey(pem: pem, passphrase: configuration.encryptedKeys ? passphrase : nil)
        guard key.matches(issuingCertificate) else {
            throw FleetCAError(
                .home, "the issuing key '\(home.issuingKeyPath)' does not belong to the issuing certificate")
        }
        loadedIssuingKey = key
        return key
    }

    /// Certificates to hand to devices as the chain: the issuing CA.
    public var chainPEM: String {
        get throws { try issuingCertificate.pem }
    }

    /// The root certificate as PEM.
    public var rootPEM: String {
        get throws { try rootCertificate.pem }
    }

    static func actorName() -> String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? "uid\(getuid())"
        return "\(user)@pid\(getpid())"
    }
}
