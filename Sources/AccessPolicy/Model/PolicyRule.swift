/// One rule: a policy's allow or deny of one action on one topic template, with where it was written.
public struct PolicyRule: Sendable, Hashable, CustomStringConvertible {
    /// The name of the policy the rule belongs to.
    public let policy: String
    /// Allow or deny.
    public let effect: Effect
    /// Publish or subscribe.
    public let action: Action
    /// The topic filter, possibly with placeholders.
    public let template: TopicTemplate
    /// Whom the rule applies to.
    public let subject: Subject
    /// Where the filter was written.
    public let location: SourceLocation

    /// A rule; the reader builds these from policy files.
    public init(
        policy: String, effect: Effect, action: Action, template: TopicTemplate, subject: Subject,
        location: SourceLocation
    ) {
        self.policy = policy
        self.effect = effect
        self.action = action
        self.template = template
        self.subject = subject
        self.location = location
    }

    /// `allow publish fleet/{device}/status (policy 'device-own-topics', devices.yaml:14)`.
    public var description: String {
        "\(effect.rawValue) \(action.rawValue) \(template.text) (policy '\(policy)', \(location))"
    }

    /// The concrete filters this rule gives `principal` (several when `{group}` reaches several groups).
    public func filters(for principal: Principal) -> [TopicFilter] {
        var result: [TopicFilter] = []
        for route in subject.routes(for: principal) {
            guard let filter = template.expand(for: principal, group: route) else { continue }
            if !result.contains(filter) { result.append(filter) }
        }
        return result
    }
}
