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
    /// Online renewal (`fleetctl serve`): grace window, clock skew, rate limit, retirement, recovery.
    public var renewal: RenewalSettings = RenewalSettings()

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
        renewal = try values.decodeIfPresent(RenewalSettings.self, forKey: .renewal) ?? RenewalSettings()
    }
}

/// The settings of online renewal, `renewal` in `config.json`. Missing keys take their defaults.
public struct RenewalSettings: Codable, Sendable, Equatable {
    /// What happens to a superseded certificate once the device is seen using its successor.
    public enum Retirement: String, Codable, Sendable {
        /// It stays superseded and simply expires (the CRL stays short).
        case expire
        /// It is revoked with reason `superseded` (listed on the CRL until it expires).
        case revoke
    }

    /// How long after its notAfter an expired device certificate may still prove a renewal made through
    /// the recovery credential, seconds (default 30 days).
    public var graceSeconds: Int64
    /// How far a request's timestamp may be from the CA's clock, seconds (default 300).
    public var clockSkewSeconds: Int64
    /// At most this many renewal requests per device within `rateWindowSeconds` (default 10 per hour).
    public var rateLimit: Int
    public var rateWindowSeconds: Int64
    /// See `Retirement` (default `expire`).
    public var retireSuperseded: Retirement
    /// Lifetime of the recovery credential issued at provisioning, seconds (default 5 years).
    public var recoveryValiditySeconds: Int64

    public init(
        graceSeconds: Int64 = 30 * 86_400, clockSkewSeconds: Int64 = 300, rateLimit: Int = 10,
        rateWindowSeconds: Int64 = 3_600, retireSuperseded: Retirement = .expire,
        recoveryValiditySeconds: Int64 = 5 * 31_536_000
    ) {
        self.graceSeconds = graceSeconds
        self.clockSkewSeconds = clockSkewSeconds
        self.rateLimit = rateLimit
        self.rateWindowSeconds = rateWindowSeconds
        self.retireSuperseded = retireSuperseded
        self.recoveryValiditySeconds = recoveryValiditySeconds
    }

    public init(from decoder: any Decoder) throws {
        let defaults = RenewalSettings()
        let values = try decoder.container(keyedBy: CodingKeys.self)
        graceSeconds = try values.decodeIfPresent(Int64.self, forKey: .graceSeconds) ?? defaults.graceSeconds
        clockSkewSeconds =
            try values.decodeIfPresent(Int64.self, forKey: .clockSkewSeconds) ?? defaults.clockSkewSeconds
        rateLimit = try values.decodeIfPresent(Int.self, forKey: .rateLimit) ?? defaults.rateLimit
        rateWindowSeconds =
            try values.decodeIfPresent(Int64.self, forKey: .rateWindowSeconds) ?? defaults.rateWindowSeconds
        retireSuperseded =
            try values.decodeIfPresent(Retirement.self, forKey: .retireSuperseded) ?? defaults.retireSuperseded
        recoveryValiditySeconds =
            try values.decodeIfPresent(Int64.self, forKey: .recoveryValiditySeconds)
            ?? defaults.recoveryValiditySeconds
    }
}
