/// Finds mistakes and suspicious rules in loaded policies, given the inventory's principals.
///
/// Errors: unknown groups or attributes, a device grant that reaches another device's subtree under
/// `fleet/` or the whole tree. Warnings: empty topic levels, a deny whose leading wildcard leaves `$` topics
/// alone, grants a deny always cancels, rules that can never apply (a group without members, an attribute
/// no device has, a named principal the inventory lacks), duplicates, a service granted the whole tree.
public enum PolicyLinter {
    /// The root under which each device owns `fleet/<device>/...`.
    public static let deviceRoot = "fleet"

    /// All findings, errors first, each group in file and line order.
    public static func lint(_ policies: PolicySet, principals: [Principal]) -> [LintFinding] {
        var findings: [LintFinding] = []
        let knownGroups = Set(policies.declaredGroups.keys).union(principals.flatMap(\.groups))
        let knownAttributes = Set(policies.declaredAttributes.keys).union(principals.flatMap(\.attributes.keys))
        let devices = principals.filter { $0.kind == .device && !$0.revoked }
        let serviceIDs = Set(principals.filter { $0.kind == .service }.map(\.id))
        let deviceIDs = Set(principals.filter { $0.kind == .device }.map(\.id))
        var seen: [String: SourceLocation] = [:]
        var reportedSubjects = Set<String>()

        for rule in policies.rules {
            let at = rule.location
            func add(_ severity: LintFinding.Severity, _ message: String) {
                findings.append(LintFinding(severity, message, at: at))
            }
            for group in rule.subject.groups where !knownGroups.contains(group) {
                add(.error, "policy '\(rule.policy)' names the unknown group '\(group)'; declare it under 'groups:' "
                    + "or provision a device into it")
            }
            for name in rule.template.attributeNames where !knownAttributes.contains(name) {
                add(.error, "topic '\(rule.template.text)' uses the unknown attribute '\(name)'; declare it under "
                    + "'attributes:'")
            }
            if rule.effect == .allow && rule.subject.includesDevices, let problem = reach(rule) {
                add(.error, problem)
            }
            if rule.effect == .allow && !rule.subject.includesDevices && isWholeTree(rule.template.widened()) {
                add(.warning, "policy '\(rule.policy)' lets services \(rule.action.rawValue) on the whole tree "
                    + "('\(rule.template.text)')")
            }
            let wide = rule.template.widened()
            if rule.action == .publish, rule.effect == .allow, case .literal(let first)? = rule.template.levels.first,
                let root = PolicySet.brokerReservedRoot(ofTopic: first) {
                add(.error, "allow publish '\(rule.template.text)' can never match: the broker refuses client "
                    + "publishes under '\(root)'")
            }
            if rule.action == .subscribe, wide.levels.first == "$share" {
                add(.error, "'\(rule.template.text)' can never match: brokers check read rights against the topic "
                    + "of each delivered message, which never starts with $share; name the topic itself")
            }
            if wide.levels.count > TopicFilter.maximumLevels {
                add(.error, "topic '\(rule.template.text.prefix(60))...' has \(wide.levels.count) levels and can never "
                    + "match: Mosquitto refuses topics of more than \(TopicFilter.maximumLevels)")
            }
            if wide.hasEmptyLevels {
                add(.warning, "topic '\(rule.template.text)' has an empty level ('//', or a leading or trailing '/'); "
                    + "it matches only topics with that same empty level")
            }
            if rule.effect == .deny, let first = wide.levels.first, first == "+" || first == "#" {
                add(.warning, "deny '\(rule.template.text)' starts with a wildcard, so it does not reach topics "
                    + "beginning with '$' such as $SYS")
            }
            let key = "\(rule.subject) \(rule.effect) \(rule.action) \(rule.template.text)"
            if let earlier = seen[key] {
                add(.warning, "\(rule.effect.rawValue) \(rule.action.rawValue) '\(rule.template.text)' repeats the "
                    + "rule at \(earlier)")
            }
            seen[key] = seen[key] ?? at
            if rule.effect == .allow, let deny = shadowingDeny(of: rule, in: policies) {
                add(.warning, "this grant never takes effect: \(deny) always denies it")
            }
            guard !principals.isEmpty else { continue }
            let subjectKey = "\(rule.policy)"
            if reportedSubjects.insert(subjectKey).inserted {
                for group in rule.subject.groups where knownGroups.contains(group)
                    && !devices.contains(where: { $0.groups.contains(group) }) {
                    add(.warning, "policy '\(rule.policy)' can never apply through group '\(group)': no active device "
                        + "is in it")
                }
                for service in rule.subject.services where !serviceIDs.contains(service) {
                    add(.warning, "policy '\(rule.policy)' names the service '\(service)', which the inventory lacks")
                }
                for device in rule.subject.devices where !deviceIDs.contains(device) {
                    add(.warning, "policy '\(rule.policy)' names the device '\(device)', which the inventory lacks")
                }
            }
            let reached = devices.filter { !rule.filters(for: $0).isEmpty }
            let inSubject = devices.filter { !rule.subject.routes(for: $0).isEmpty }
            if !rule.template.attributeNames.isEmpty && !inSubject.isEmpty && reached.isEmpty {
                add(.warning, "topic '\(rule.template.text)' can never apply: no device of policy '\(rule.policy)' has "
                    + "the attribute \(rule.template.attributeNames.map { "'\($0)'" }.joined(separator: ", "))")
            }
        }
        let errors = findings.filter { $0.severity == .error }, warnings = findings.filter { $0.severity == .warning }
        return errors + warnings
    }

    /// Why a device grant reaches beyond the device's own subtree, or nil when it does not.
    static func reach(_ rule: PolicyRule) -> String? {
        let marker = "{device}"
        let wide = rule.template.widened(device: marker)
        if isWholeTree(wide) {
            return "policy '\(rule.policy)' lets devices \(rule.action.rawValue) on the whole tree "
                + "('\(rule.template.text)')"
        }
        guard wide.intersects(try! TopicFilter("\(deviceRoot)/+/#")), wide.levels.count >= 2 else { return nil }
        if case .device = rule.template.levels[1] { return nil }
        let named = rule.subject.devices
        if case .literal(let id) = rule.template.levels[1], named.count == 1, named[0] == id,
            !rule.subject.allDevices, rule.subject.groups.isEmpty {
            return nil
        }
        return "policy '\(rule.policy)' lets devices \(rule.action.rawValue) '\(rule.template.text)', which reaches "
            + "other devices' subtrees under '\(deviceRoot)/'; use \(deviceRoot)/{device}/..."
    }

    static func isWholeTree(_ filter: TopicFilter) -> Bool {
        filter.levels == ["#"] || filter.levels == ["+", "#"]
    }

    /// A deny with the same action whose subject holds every principal of `allow` and whose topic covers it.
    private static func shadowingDeny(of allow: PolicyRule, in policies: PolicySet) -> PolicyRule? {
        policies.rules.first { deny in
            guard deny.effect == .deny, deny.action == allow.action else { return false }
            let subjectCovered = deny.subject == allow.subject
                || (deny.subject.allDevices && allow.subject.services.isEmpty)
            return subjectCovered && deny.template.widened(device: "{device}")
                .covers(allow.template.widened(device: "{device}"))
                && deny.template.usesDevice == allow.template.usesDevice
        }
    }
}
