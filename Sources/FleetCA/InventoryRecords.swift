import Foundation
import PKI

/// The state of one certificate in the inventory.
public enum CertificateState: String, Sendable, Codable, CaseIterable {
    /// Current and usable.
    case active
    /// Replaced by a newer certificate for the same subject (still cryptographically valid until notAfter).
    case superseded
    /// Revoked; listed on the CRL until it expires.
    case revoked
    /// Past its notAfter.
    case expired
}

/// What holds a certificate.
public enum SubjectKind: String, Sendable, Codable {
    case device, service, server
}

/// One certificate as the inventory records it.
public struct CertificateRecord: Sendable, Codable, Equatable {
    /// Serial in lowercase hexadecimal.
    public let serial: String
    public let subjectKind: SubjectKind
    /// Device id, service name, or the server's first host name.
    public let subject: String
    public let state: CertificateState
    public let notBefore: Date
    public let notAfter: Date
    public let issuedAt: Date
    public let fingerprintSHA256: String
    public let keyType: String
    /// True when the CA generated the private key (factory bundles, services, servers).
    public let keyGeneratedByCA: Bool
    public let revokedAt: Date?
    public let revocationReason: RevocationReason?
    /// The certificate itself.
    public let pem: String
}

/// One device with its groups, attributes, current state and certificates (newest first).
public struct DeviceRecord: Sendable, Codable, Equatable {
    public let id: String
    public let groups: [String]
    public let attributes: [String: String]
    public let createdAt: Date
    /// The state of the newest certificate; `revoked` when the device's certificates are revoked.
    public let state: CertificateState?
    public let certificates: [CertificateRecord]

    /// The newest certificate that is active, if any.
    public var activeCertificate: CertificateRecord? { certificates.first { $0.state == .active } }
}

/// A service identity (a back-end principal with a client certificate).
public struct ServiceRecord: Sendable, Codable, Equatable {
    public let name: String
    public let createdAt: Date
    public let state: CertificateState?
    public let certificates: [CertificateRecord]
}

/// One entry of the append-only audit log.
public struct AuditRecord: Sendable, Codable, Equatable {
    public let sequence: Int64
    public let at: Date
    public let actor: String
    public let action: String
    public let subject: String
    public let details: String
    public let previousHash: String
    public let hash: String
}
