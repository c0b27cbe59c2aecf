/// The kind of certificate being issued; it decides basicConstraints, keyUsage and extendedKeyUsage.
public enum CertificateProfile: String, Sendable, Codable, CaseIterable {
    /// A self-signed root: CA:TRUE, keyCertSign and cRLSign.
    case rootAuthority
    /// The issuing intermediate: CA:TRUE with pathlen 0, keyCertSign and cRLSign.
    case issuingAuthority
    /// A device or service identity: CA:FALSE, digitalSignature, clientAuth.
    case client
    /// A broker or other TLS server: CA:FALSE, digitalSignature (+keyEncipherment for RSA), serverAuth.
    case server
}

/// Everything the CA decided about one certificate except the keys: names, validity and optional URLs.
///
/// Nothing here comes from a request's extensions; the caller builds it from validated input.
public struct CertificateTemplate: Sendable {
    /// The subject CN.
    public var commonName: String
    /// The subject O, when wanted (CA certificates).
    public var organization: String?
    /// The profile deciding the extensions.
    public var profile: CertificateProfile
    /// SAN URIs, e.g. `urn:fleet:device:<id>`.
    public var uris: [String]
    /// SAN DNS names (server profile).
    public var dnsNames: [String]
    /// SAN IP addresses in text form (server profile).
    public var ipAddresses: [String]
    /// Requested lifetime in seconds, counted from issuance (before the backdating margin).
    public var validitySeconds: Int64
    /// Authority Information Access caIssuers URL, when configured.
    public var issuerURL: String?
    /// CRL distribution point URL, when configured.
    public var crlURL: String?

    public init(
        commonName: String, organization: String? = nil, profile: CertificateProfile, uris: [String] = [],
        dnsNames: [String] = [], ipAddresses: [String] = [], validitySeconds: Int64,
        issuerURL: String? = nil, crlURL: String? = nil
    ) {
        self.commonName = commonName
        self.organization = organization
        self.profile = profile
        self.uris = uris
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.validitySeconds = validitySeconds
        self.issuerURL = issuerURL
        self.crlURL = crlURL
    }
}
