import Foundation

/// The CA's settings, kept in `config.json` in the CA home. Missing keys take their defaults.
public struct CAConfiguration: Codable, Sendable, Equatable {
    /// Where devices find the broker; written into each bundle's `agent.json`.
    public struct Broker: Codable, Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String = "127.0.0.1", port: Int = 8883) {
            self.host = host
            self.port = port
        }
    }

    /// The CA's name, used in the root and issuing CA subjects.
    public var name: String
    /// The CA keys' type (`p256`, `p384`, `rsa2048`, `ed25519`).
    public var keyType: String
    /// Lifetime of the root certificate, seconds.
    public var rootValiditySeconds: Int64
    /// Lifetime of the issuing CA certificate, seconds.
    public var issuingValiditySeconds: Int64
    /// Default lifetime of device certificates, seconds.
    public var deviceValiditySeconds: Int64
    /// Lifetime of service and server certificates, seconds.
    public var serviceValiditySeconds: Int64
    /// Time from a CRL's thisUpdate to its nextUpdate; it is re-signed after half of it.
    public var crlLifetimeSeconds: Int64
    /// True when the CA keys are stored encrypted under a passphrase.
    public var encryptedKeys: Bool
    /// The broker devices connect to.
    public var broker: Broker
    /// AIA caIssuers URL for issued certificates, if any.
    public var issuerURL: String?
    /// CRL distribution point for issued certificates, if any.
    public var crlURL: String?

    public init(
        name: String = "Fleet", keyType: String = "p256", rootValiditySeconds: Int64 = 10 * 31_536_000,
        issuingValiditySeconds: Int64 = 5 * 31_536_000, deviceValiditySeconds: Int64 = 90 * 86_400,
        serviceValiditySeconds: Int64 = 365 * 86_400, crlLifetimeSeconds: Int64 = 7 * 86_400,
        encryptedKeys: Bool = false, broker: Broker = Broker(), issuerURL: String? = nil, crlURL: String? = nil
    ) {
        self.name = name
        self.keyType = keyType
        self.rootValiditySeconds = rootValiditySeconds
        self.issuingValiditySeconds = issuingValiditySeconds
        self.deviceValiditySeconds = deviceValiditySeconds
        self.serviceValiditySeconds = serviceValiditySeconds
        self.crlLifetimeSeconds = crlLifetimeSeconds
        self.encryptedKeys = encryptedKeys
        self.broker = broker
        self.issuerURL = issuerURL
        self.crlURL = crlURL
    }

    public init(from decoder: any Decoder) throws {
        let defaults = CAConfiguration()
        let values = try decoder.container(keyedBy: CodingKeys.self)
        name = try values.decodeIfPresent(String.self, forKey: .name) ?? defaults.name
        keyType = try values.decodeIfPresent(String.self, forKey: .keyType) ?? defaults.keyType
        rootValiditySeconds =
            try values.decodeIfPresent(Int64.self, forKey: .rootValiditySeconds)
            ?? defaults.rootValiditySeconds
        issuingValiditySeconds =
            try values.decodeIfPresent(Int64.self, forKey: .issuingValiditySeconds)
            ?? defaults.issuingValiditySeconds
        deviceValiditySeconds =
            try values.decodeIfPresent(Int64.self, forKey: .deviceValiditySeconds)
            ?? defaults.deviceValiditySeconds
        serviceValiditySeconds =
            try values.decodeIfPresent(Int64.self, forKey: .serviceValiditySeconds)
            ?? defaults.serviceValiditySeconds
        crlLifetimeSeconds =
            try values.decodeIfPresent(Int64.self, forKey: .crlLifetimeSeconds)
            ?? defaults.crlLifetimeSeconds
        encryptedKeys = try values.decodeIfPresent(Bool.self, forKey: .encryptedKeys) ?? false
        broker = try values.decodeIfPresent(Broker.self, forKey: .broker) ?? defaults.broker
        issuerURL = try values.decodeIfPresent(String.self, forKey: .issuerURL)
        crlURL = try values.decodeIfPresent(String.self, forKey: .crlURL)
    }
}
