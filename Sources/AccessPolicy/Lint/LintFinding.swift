/// One thing `acl lint` reports: an error (the policies are wrong) or a warning (they look suspicious).
public struct LintFinding: Sendable, CustomStringConvertible {
    /// How serious a finding is; errors make `acl lint` exit non-zero.
    public enum Severity: String, Sendable {
        case error, warning
    }

    /// Error or warning.
    public let severity: Severity
    /// One sentence naming the offending value.
    public let message: String
    /// The rule or key concerned, when there is one.
    public let location: SourceLocation?

    /// A finding at `location`.
    public init(_ severity: Severity, _ message: String, at location: SourceLocation?) {
        self.severity = severity
        self.message = message
        self.location = location
    }

    /// `policies/devices.yaml:12: error: ...`.
    public var description: String {
        (location.map { "\($0): " } ?? "") + "\(severity.rawValue): \(message)"
    }
}
