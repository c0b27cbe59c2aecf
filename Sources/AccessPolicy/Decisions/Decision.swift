/// The answer to "may this principal do this on this topic", with the rule that decided it.
public struct Decision: Sendable, CustomStringConvertible {
    public let allowed: Bool
    /// The deciding rule: the first matching deny, else the first matching allow; nil for the default deny.
    public let rule: PolicyRule?
    /// A sentence that says why.
    public let reason: String

    public init(allowed: Bool, rule: PolicyRule?, reason: String) {
        self.allowed = allowed
        self.rule = rule
        self.reason = reason
    }

    public var description: String { "\(allowed ? "allow" : "deny"): \(reason)" }
}

/// One right a principal holds after templates are filled in: a rule and the filter it gives.
public struct Grant: Sendable, Hashable {
    public let rule: PolicyRule
    public let filter: TopicFilter

    public var effect: Effect { rule.effect }
    public var action: Action { rule.action }
}
