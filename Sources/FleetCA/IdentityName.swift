import FleetIdentity

/// The CA's view of `IdentityRule` (FleetIdentity): every device id, service name, group and attribute key
/// obeys it, and a refusal is a `FleetCAError` naming the value.
public enum IdentityName {
    /// The longest name accepted.
    public static let maximumLength = IdentityRule.maximumLength

    /// Throws unless `name` is a valid identity; `what` names it in the message (`device id`, `group`).
    public static func validate(_ name: String, as what: String = "device id") throws(FleetCAError) {
        if let problem = IdentityRule.problem(with: name, what: what) { throw .invalid(problem) }
    }

    /// True when `validate` would accept `name`.
    public static func isValid(_ name: String) -> Bool { IdentityRule.isValid(name) }

    /// The name in quotes with control characters escaped, so a message never carries raw control bytes.
    static func quote(_ name: String) -> String { IdentityRule.quote(name) }
}
