#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What an operator, the broker tooling or the agent needs to know about one certificate.
public struct CertificateSummary: Sendable, Codable, Equatable {
    /// The subject in RFC 2253 form.
    public let subject: String
    /// The subject CN when there is exactly one.
    public let commonName: String?
    /// The issuer in RFC 2253 form.
    public let issuer: String
    /// The serial number in lowercase hexadecimal (`-` first if a foreign certificate has a negative one).
    public let serial: String
    /// Start of validity.
    public let notBefore: Date
    /// End of validity.
    public let notAfter: Date
    /// SAN URIs (`urn:fleet:device:<id>`).
    public let uris: [String]
    /// SAN DNS names.
    public let dnsNames: [String]
    /// SAN IP addresses.
    public let ipAddresses: [String]
    /// SHA-256 of the DER, lowercase hexadecimal.
    public let fingerprintSHA256: String
    /// basicConstraints CA:TRUE.
    public let isCertificateAuthority: Bool
    /// The subject key's kind (`p256`, `rsa2048`, `ed25519`, ...).
    public let keyType: String
}
