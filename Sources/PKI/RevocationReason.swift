/// The CRLReason codes of RFC 5280 5.3.1 that a CA of end-entity certificates uses.
public enum RevocationReason: String, Sendable, Codable, CaseIterable {
    case unspecified
    case keyCompromise
    case affiliationChanged
    case superseded
    case cessationOfOperation
    case privilegeWithdrawn

    /// The ENUMERATED value in a CRL entry.
    public var code: Int {
        switch self {
        case .unspecified: return 0
        case .keyCompromise: return 1
        case .affiliationChanged: return 3
        case .superseded: return 4
        case .cessationOfOperation: return 5
        case .privilegeWithdrawn: return 9
        }
    }

    /// The reason for a CRL code, when it is one of these.
    public init?(code: Int) {
        guard let reason = RevocationReason.allCases.first(where: { $0.code == code }) else { return nil }
        self = reason
    }
}
