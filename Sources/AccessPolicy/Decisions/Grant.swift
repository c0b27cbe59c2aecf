/// One right a principal holds after templates are filled in: a rule and the filter it gives.
public struct Grant: Sendable, Hashable {
    /// The rule that gives it.
    public let rule: PolicyRule
    /// The rule's template filled for the principal.
    public let filter: TopicFilter

    /// The rule's effect.
    public var effect: Effect { rule.effect }
    /// The rule's action.
    public var action: Action { rule.action }
}
