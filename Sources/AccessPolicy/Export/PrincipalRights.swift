/// One principal's rights with templates filled in, split by effect, as the exporters consume them.
struct PrincipalRights {
    let principal: Principal
    let allows: [Grant]
    let denies: [Grant]

    init(_ principal: Principal, policies: PolicySet) {
        self.principal = principal
        let grants = policies.grants(for: principal)
        allows = PrincipalRights.unique(grants.filter { $0.effect == .allow })
        denies = PrincipalRights.unique(grants.filter { $0.effect == .deny })
    }

    /// Allows of `action` that some deny of the same action takes a part from, without taking all of it.
    func partlyDenied(_ action: Action) -> [(allow: Grant, deny: Grant)] {
        var result: [(Grant, Grant)] = []
        for allow in allows where allow.action == action {
            if fullyDenied(allow) { continue }
            if let deny = denies.first(where: { $0.action == action && $0.filter.intersects(allow.filter) }) {
                result.append((allow, deny))
            }
        }
        return result
    }

    /// True when a deny of the same action covers the whole of `allow`.
    func fullyDenied(_ allow: Grant) -> Bool {
        denies.contains { $0.action == allow.action && $0.filter.covers(allow.filter) }
    }

    /// Whether the policy gives `action` on every topic of `filter`.
    func fullyAllows(_ action: Action, _ filter: TopicFilter) -> Bool {
        allows.contains { $0.action == action && $0.filter.covers(filter) }
            && !denies.contains { $0.action == action && $0.filter.intersects(filter) }
    }

    /// Keeps the first grant of each (action, filter): later duplicates say nothing new.
    private static func unique(_ grants: [Grant]) -> [Grant] {
        var seen = Set<[String]>()
        return grants.filter { seen.insert([$0.action.rawValue, $0.filter.text]).inserted }
    }
}

/// The file name of a location, so exports do not depend on where the policy folder sits.
func shortLocation(_ location: SourceLocation) -> String {
    "\(location.file.split(separator: "/").last.map(String.init) ?? location.file):\(location.line)"
}
