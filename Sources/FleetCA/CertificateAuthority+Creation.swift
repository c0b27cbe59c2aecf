import Foundation
import PKI
import Store

/// What `ca init` decides.
public struct CAInitOptions: Sendable {
    public var name: String
    public var keyType: KeyType
    public var rootValiditySeconds: Int64
    public var issuingValiditySeconds: Int64
    /// When set, the CA keys are stored encrypted (AES-256) under it.
    public var passphrase: String?
    /// When set, the root key is written here (for offline keeping) instead of into the CA home.
    public var rootKeyExportPath: String?
    public var configuration: CAConfiguration

    public init(
        name: String = "Fleet", keyType: KeyType = .p256, rootValiditySeconds: Int64 = 10 * 31_536_000,
        issuingValiditySeconds: Int64 = 5 * 31_536_000, passphrase: String? = nil,
        configuration: CAConfiguration = CAConfiguration()
    ) {
        self.name = name
        self.keyType = keyType
        self.rootValiditySeconds = rootValiditySeconds
        self.issuingValiditySeconds = issuingValiditySeconds
        self.passphrase = passphrase
        self.configuration = configuration
    }
}

extension CertificateAuthority {
    /// Creates a root CA, an issuing intermediate, the inventory and the first CRL in `home`.
    ///
    /// Refuses to touch a folder that already holds any part of a CA. Keys and the inventory are mode 0600.
    public static func create(home: CAHome, options: CAInitOptions, now: Date = Date()) throws -> CertificateAuthority {
        let name = options.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.utf8.count <= 48, !name.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw FleetCAError.invalid("the CA name '\(options.name)' must be 1 to 48 bytes on one line")
        }
        guard options.issuingValiditySeconds <= options.rootValiditySeconds else {
            throw FleetCAError.invalid(
                "the issuing CA validity (\(options.issuingValiditySeconds)s) exceeds the root's "
                    + "(\(options.rootValiditySeconds)s)")
        }
        if let passphrase = options.passphrase, passphrase.count < 8 {
            throw FleetCAError.invalid("the passphrase is \(passphrase.count) characters; use at least 8")
        }
        if let export = options.rootKeyExportPath, FileManager.default.fileExists(atPath: export) {
            throw FleetCAError(.alreadyExists, "'\(export)' already exists; refusing to overwrite it with the root key")
        }
        for url in [options.configuration.crlURL, options.configuration.issuerURL].compactMap({ $0 })
        where !(url.hasPrefix("http://") || url.hasPrefix("https://"))
            || url.contains(where: { $0 == "," || $0.isWhitespace })
        {
            throw FleetCAError.invalid("the URL '\(url)' must be an http(s) URL without spaces or commas")
        }
        for path in [home.configurationPath, home.inventoryPath, home.rootFolder, home.issuingFolder, home.crlPath]
        where FileManager.default.fileExists(atPath: path) {
            throw FleetCAError(
                .alreadyExists, "a CA already exists in '\(home.path)' ('\(path)' is there); refusing to touch it")
        }

        let rootKey = try PrivateKey.generate(options.keyType)
        let root = try CertificateBuilder.issue(
            CertificateTemplate(
                commonName: "\(name) Root CA", organization: name, profile: .rootAuthority,
                validitySeconds: options.rootValiditySeconds),
            subjectKey: rootKey.publicKey, issuer: nil, issuerKey: rootKey, serial: .random(), now: now)
        let issuingKey = try PrivateKey.generate(options.keyType)
        let issuing = try CertificateBuilder.issue(
            CertificateTemplate(
                commonName: "\(name) Issuing CA", organization: name, profile: .issuingAuthority,
                validitySeconds: options.issuingValiditySeconds),
            subjectKey: issuingKey.publicKey, issuer: root, issuerKey: rootKey, serial: .random(), now: now)

        try SecureFile.makeFolder(home.path, mode: 0o700)
        try SecureFile.makeFolder(home.rootFolder, mode: 0o700)
        try SecureFile.makeFolder(home.issuingFolder, mode: 0o700)
        // The root key is needed again only to re-issue the intermediate; it can live offline.
        let rootKeyPath = options.rootKeyExportPath ?? home.rootKeyPath
        try SecureFile.write(rootKey.pem(passphrase: options.passphrase), to: rootKeyPath, mode: 0o600)
        try SecureFile.write(root.pem, to: home.rootCertificatePath, mode: 0o644)
        try SecureFile.write(issuingKey.pem(passphrase: options.passphrase), to: home.issuingKeyPath, mode: 0o600)
        try SecureFile.write(issuing.pem, to: home.issuingCertificatePath, mode: 0o644)

        var configuration = options.configuration
        configuration.name = name
        configuration.keyType = options.keyType.name
        configuration.rootValiditySeconds = options.rootValiditySeconds
        configuration.issuingValiditySeconds = options.issuingValiditySeconds
        configuration.encryptedKeys = options.passphrase != nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try SecureFile.write(Array(encoder.encode(configuration)) + [10], to: home.configurationPath, mode: 0o644)

        let database = try Database(path: home.inventoryPath)
        try database.migrate(InventorySchema.migrations)
        let authority = CertificateAuthority(
            home: home, configuration: configuration, root: root, issuing: issuing,
            database: database, passphrase: options.passphrase, issuingKey: issuingKey)
        try database.transaction {
            try authority.audit.record(
                action: "ca.init", subject: name,
                details: [
                    "keyType": options.keyType.name, "root": try root.serialNumber.hex,
                    "issuing": try issuing.serialNumber.hex, "encryptedKeys": String(options.passphrase != nil),
                    "rootKeyOffline": String(options.rootKeyExportPath != nil),
                ], at: now)
            _ = try authority.signCRL(now: now)
        }
        return authority
    }
}
