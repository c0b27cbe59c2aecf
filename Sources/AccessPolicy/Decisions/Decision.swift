/// The answer to "may this principal do this on this topic", with the rule that decided it.
public struct Decision: Sendable, CustomStringConvertible {
    public let allowed: Bool
    /// The deciding rule: the first matching deny, else the first matching allow; nil for the default deny.
    public let rule: PolicyRule?
    /// A sentence that says why.
    public let reason: String

    /// A decision.
    public init(allowed: Bool, rule: PolicyRule?, reason: String) {
        self.allowed = allowed
        self.rule = rule
        self.reason = reason
    }

    /// `allow: reason` or `deny: reason`.
    public var description: String { "\(allowed ? "allow" : "deny"): \(reason)" }
}
