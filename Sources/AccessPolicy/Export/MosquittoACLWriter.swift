/// Writes a Mosquitto 2.0 `acl_file`.
///
/// How Mosquitto 2.0.11 reads it, and what follows:
/// - `pattern` lines apply to every client with a username, wherever they sit in the file; `%u` is a
///   plain string replace. Rules every device shares become patterns (ids cannot hold `/ + #`, checked
///   again here). All patterns come before the first `user` line, and no `topic` line comes before it,
///   so nothing applies to anonymous clients.
/// - For a client, its `user` block is checked before the patterns; within each, `deny` lines before
///   grants; the first matching line decides. A user-block grant therefore beats a pattern deny, and a
///   user-block `deny` beats a pattern grant.
/// - `deny` takes read and write away together, so a policy deny of one action is written only where the
///   other action is not allowed on those topics; otherwise the export is refused.
/// - Patterns reach services too: a service gets `topic deny` for the pattern topics named after it,
///   which the warning reports when the service's own rules reach into them.
/// - Revoked principals get a block of `topic deny #` (and `$` roots patterns reach): it overrides patterns.
/// - Read rights are checked per delivered message, not at SUBSCRIBE.
struct MosquittoACLWriter {
    let exporter: ACLExporter

    /// A line of a user block: a deny, or a grant of read and/or write on one filter.
    private struct Entry {
        var filter: TopicFilter
        var read = false
        var write = false
        var deny = false

        var line: String {
            if deny { return "topic deny \(filter.text)" }
            let access = read && write ? "readwrite" : (read ? "read" : "write")
            return "topic \(access) \(filter.text)"
        }
    }

    func write() throws(PolicyError) -> ACLExport {
        let shared = exporter.sharedRules
        if !shared.isEmpty { try exporter.checkSubstitutable() }
        let patternAllows = shared.filter { $0.effect == .allow }
        let patternDenies = try neededPatternDenies(shared)
        var warnings: [String] = []
        var narrowed: [(principal: String, filter: TopicFilter)] = []

        var body = ""
        var patternLines = 0
        for (template, access, rules) in mergedPatterns(patternAllows) {
            let text = try patternText(template)
            body += "# \(rules.map { "\($0.policy) \(shortLocation($0.location))" }.joined(separator: "; "))\n"
            body += "pattern \(access) \(text)\n"
            patternLines += 1
        }
        for rule in patternDenies {
            body += "# \(rule.policy) \(shortLocation(rule.location)) (deny \(rule.action.rawValue))\n"
            body += "pattern deny \(try patternText(rule.template))\n"
            patternLines += 1
        }

        let dollarRoots = Set(patternAllows.compactMap { rule -> String? in
            guard case .literal(let first)? = rule.template.levels.first, first.hasPrefix("$") else { return nil }
            return first
        }).sorted()
        var blocks = 0
        for principal in exporter.principals {
            let entries: [Entry]
            if principal.revoked {
                let roots = ["#"] + dollarRoots.map { "\($0)/#" }
                entries = roots.map { Entry(filter: try! TopicFilter($0), deny: true) }
            } else {
                entries = try block(for: principal, shared: shared, patternAllows: patternAllows, narrowed: &narrowed)
            }
            guard !entries.isEmpty else { continue }
            blocks += 1
            body += "\nuser \(principal.id)\n"
            if principal.revoked { body += "# revoked: no rights\n" }
            body += entries.map { $0.line + "\n" }.joined()
        }

        if blocks >= ACLExporter.userBlockWarningThreshold {
            warnings.append("wrote \(blocks) user blocks: Mosquitto loads acl_file in time quadratic in user blocks "
                + "(about 1 s at 10,000, 11 s at 30,000, 130 s at 100,000) and stops every client while a SIGHUP "
                + "reload runs; give shared rights to every device ('devices: all' with {device}) so they become "
                + "patterns")
        }
        for service in Set(narrowed.map(\.principal)).sorted() {
            let filters = narrowed.filter { $0.principal == service }.map { "'\($0.filter.text)'" }
            warnings.append("service '\(service)' gets no rights on \(filters.joined(separator: ", ")): the device "
                + "patterns would give it more than its policy there, and acl_file can only deny read and write "
                + "together (these topics name no device)")
        }
        let header = exporter.header(comment: "#", format: .mosquitto, extra: [
            "Patterns substitute %u with the username; device ids never hold '/', '+' or '#'.",
            "Use with allow_anonymous false. No topic line precedes the first user line.",
            "\(patternLines) pattern lines, \(blocks) user blocks.",
        ])
        return ACLExport(format: .mosquitto, text: header + "\n" + body, userBlocks: blocks,
            sharedRules: patternLines, warnings: warnings, narrowed: narrowed)
    }

    /// The user block of one principal that is not revoked; empty when patterns say everything.
    private func block(
        for principal: Principal, shared: [PolicyRule], patternAllows: [PolicyRule],
        narrowed: inout [(principal: String, filter: TopicFilter)]
    ) throws(PolicyError) -> [Entry] {
        let rights = PrincipalRights(principal, policies: exporter.policies)
        let sharedSet = Set(shared)
        let userAllows = rights.allows.filter { !sharedSet.contains($0.rule) && !rights.fullyDenied($0) }
        // What the broker grants this client through patterns, whether or not the policy gives it.
        var brokerPatternAllows: [(Action, TopicFilter)] = []
        for rule in patternAllows {
            brokerPatternAllows.append((rule.action, rule.template.widened(device: principal.id)))
        }
        // A service holds no pattern grant its policy does not fully give: those topics are denied outright.
        var cancelled: [TopicFilter] = []
        if principal.kind == .service {
            for (action, filter) in brokerPatternAllows where !rights.fullyAllows(action, filter) {
                if !cancelled.contains(filter) { cancelled.append(filter) }
            }
        }
        let keptPatternAllows = brokerPatternAllows.filter { !cancelled.contains($0.1) }
        let effectiveAllows = userAllows.map { ($0.action, $0.filter) } + keptPatternAllows

        var denies: [TopicFilter] = []
        for deny in rights.denies {
            let isShared = sharedSet.contains(deny.rule)
            let reachesUser = userAllows.contains { $0.action == deny.action && $0.filter.intersects(deny.filter) }
            let reachesAny = effectiveAllows.contains { $0.0 == deny.action && $0.1.intersects(deny.filter) }
            guard isShared ? reachesUser : reachesAny else { continue }
            try checkDenyExpressible(deny, rights: rights, effectiveAllows: effectiveAllows)
            if !denies.contains(deny.filter) { denies.append(deny.filter) }
        }

        for filter in cancelled where !denies.contains(filter) {
            denies.append(filter)
            if rights.allows.contains(where: { $0.filter.intersects(filter) }) {
                narrowed.append((principal.id, filter))
            }
        }

        var entries = denies.map { Entry(filter: $0, deny: true) }
        for allow in userAllows {
            if let index = entries.firstIndex(where: { !$0.deny && $0.filter == allow.filter }) {
                if allow.action == .publish { entries[index].write = true } else { entries[index].read = true }
            } else {
                entries.append(Entry(filter: allow.filter, read: allow.action == .subscribe,
                    write: allow.action == .publish))
            }
        }
        return entries
    }

    /// A deny line takes both actions away: refuse when the other action is allowed somewhere under it.
    private func checkDenyExpressible(
        _ deny: Grant, rights: PrincipalRights, effectiveAllows: [(Action, TopicFilter)]
    ) throws(PolicyError) {
        for (action, filter) in effectiveAllows where action != deny.action && filter.intersects(deny.filter) {
            let alsoDenied = rights.denies.contains {
                $0.action == action && ($0.filter.covers(deny.filter) || $0.filter.covers(filter))
            }
            if alsoDenied { continue }
            throw PolicyError("cannot express \(deny.rule) for '\(rights.principal.id)' in a Mosquitto acl_file: "
                + "'topic deny' removes read and write together, and \(action.rawValue) on '\(filter.text)' is "
                + "allowed; deny both actions there or narrow the allow")
        }
    }

    /// Pattern denies that take something from a pattern grant; refused where they would also take the
    /// other action's pattern grant.
    private func neededPatternDenies(_ shared: [PolicyRule]) throws(PolicyError) -> [PolicyRule] {
        let allows = shared.filter { $0.effect == .allow }
        let denies = shared.filter { $0.effect == .deny }
        var needed: [PolicyRule] = []
        for deny in denies {
            let filter = deny.template.widened(device: "%u")
            guard allows.contains(where: { $0.action == deny.action && $0.template.widened(device: "%u")
                .intersects(filter) }) else { continue }
            for allow in allows where allow.action != deny.action {
                let other = allow.template.widened(device: "%u")
                guard other.intersects(filter) else { continue }
                let covered = denies.contains {
                    $0.action == allow.action && $0.template.widened(device: "%u").covers(filter)
                }
                if !covered {
                    throw PolicyError("cannot express \(deny) as a Mosquitto pattern: 'pattern deny' removes read and "
                        + "write together, and \(allow) overlaps it")
                }
            }
            if !needed.contains(where: { $0.template == deny.template }) { needed.append(deny) }
        }
        return needed
    }

    /// Pattern allows merged per template: `readwrite` when both actions share it.
    private func mergedPatterns(_ allows: [PolicyRule]) -> [(TopicTemplate, String, [PolicyRule])] {
        var order: [TopicTemplate] = []
        var byTemplate: [TopicTemplate: [PolicyRule]] = [:]
        for rule in allows {
            if byTemplate[rule.template] == nil { order.append(rule.template) }
            byTemplate[rule.template, default: []].append(rule)
        }
        return order.map { template in
            let rules = byTemplate[template]!
            let read = rules.contains { $0.action == .subscribe }, write = rules.contains { $0.action == .publish }
            return (template, read && write ? "readwrite" : (read ? "read" : "write"), rules)
        }
    }

    /// The template with `{device}` as `%u`; refuses literal `%` that Mosquitto would substitute.
    private func patternText(_ template: TopicTemplate) throws(PolicyError) -> String {
        if template.levels.contains(where: { if case .literal(let text) = $0 { text.contains("%") } else { false } }) {
            throw PolicyError("topic '\(template.text)' holds '%', which Mosquitto would substitute in a pattern")
        }
        return template.widened(device: "%u").text
    }
}
