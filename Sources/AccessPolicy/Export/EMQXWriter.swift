/// Writes an EMQX 5 file-authorizer `acl.conf`: Erlang terms, checked top to bottom, first match wins.
///
/// Order: revoked principals denied everything; then each principal with rights of its own (its denies,
/// then its grants; a service then closes with a deny-all of its own so the shared device rules never reach
/// it); then the rules every device shares, written once with `${username}` for clients whose username
/// has the id charset; last `{deny, all}.` EMQX checks SUBSCRIBE against the subscription's filter rather
/// than each message, so a subscribe deny that carves part of a broader subscribe grant is refused.
struct EMQXWriter {
    let exporter: ACLExporter

    /// Usernames the shared rules apply to: the fleet's id charset, so never anonymous clients.
    static let idPattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$"

    func write() throws(PolicyError) -> ACLExport {
        let shared = exporter.sharedRules
        if !shared.isEmpty { try exporter.checkSubstitutable() }
        let sharedSet = Set(shared)
        let roots = dollarRoots()
        var body = ""
        var principalsWithRules = 0

        for principal in exporter.principals where principal.revoked {
            body += "%% revoked \(principal.kind.rawValue)\n"
            body += "{deny, \(who(principal)), all, \(list(roots))}.\n"
            principalsWithRules += 1
        }
        for principal in exporter.principals where !principal.revoked {
            let rights = PrincipalRights(principal, policies: exporter.policies)
            let own = rights.allows.filter { !sharedSet.contains($0.rule) && !rights.fullyDenied($0) }
            try checkSubscribeDenies(rights)
            let denies = rights.denies.filter { deny in
                let reach = principal.kind == .service || !sharedSet.contains(deny.rule) ? rights.allows : own
                return reach.contains { $0.action == deny.action && $0.filter.intersects(deny.filter) }
            }
            guard !own.isEmpty || !denies.isEmpty || principal.kind == .service else { continue }
            principalsWithRules += 1
            body += "%% \(principal.kind.rawValue) \(principal.id)\n"
            for action in Action.allCases {
                let topics = denies.filter { $0.action == action }.map(\.filter.text)
                if !topics.isEmpty { body += "{deny, \(who(principal)), \(action.rawValue), \(try quoted(topics))}.\n" }
            }
            for action in Action.allCases {
                let topics = own.filter { $0.action == action }.map(\.filter.text)
                guard !topics.isEmpty else { continue }
                body += "{allow, \(who(principal)), \(action.rawValue), \(try quoted(topics))}.\n"
            }
            if principal.kind == .service { body += "{deny, \(who(principal)), all, \(list(roots))}.\n" }
        }

        var sharedCount = 0
        let sharedWho = "{username, {re, \"\(EMQXWriter.idPattern)\"}}"
        let sharedDenies = shared.filter { deny in
            deny.effect == .deny && shared.contains {
                $0.effect == .allow && $0.action == deny.action
                    && $0.template.widened(device: "%u").intersects(deny.template.widened(device: "%u"))
            }
        }
        for (effect, rules) in [(Effect.deny, sharedDenies), (.allow, shared.filter { $0.effect == .allow })] {
            for action in Action.allCases {
                let topics = try rules.filter { $0.action == action }.map { rule throws(PolicyError) in
                    try placeholderText(rule.template)
                }
                guard !topics.isEmpty else { continue }
                let list = try quoted(topics, placeholders: true)
                body += "{\(effect.rawValue), \(sharedWho), \(action.rawValue), \(list)}.\n"
                sharedCount += 1
            }
        }
        body += "%% what no rule above allows is denied\n{deny, all}.\n"

        let header = exporter.header(comment: "%%", format: .emqx, extra: [
            "EMQX 5 file authorizer: first match wins; ${username} is filled with the client's username.",
        ])
        return ACLExport(format: .emqx, text: header + "\n" + body, userBlocks: principalsWithRules,
            sharedRules: sharedCount, warnings: [])
    }

    private func checkSubscribeDenies(_ rights: PrincipalRights) throws(PolicyError) {
        if let (allow, deny) = rights.partlyDenied(.subscribe).first {
            throw PolicyError("cannot express \(deny.rule) for '\(rights.principal.id)' in EMQX: it checks a "
                + "subscription's filter, not each message, so a subscription to '\(allow.filter.text)' would "
                + "still receive '\(deny.filter.text)'")
        }
    }

    private func dollarRoots() -> [String] {
        let roots = exporter.policies.rules.compactMap { rule -> String? in
            guard case .literal(let first)? = rule.template.levels.first, first.hasPrefix("$") else { return nil }
            return "\(first)/#"
        }
        return ["#"] + Set(roots).sorted()
    }

    private func who(_ principal: Principal) -> String { "{username, \"\(principal.id)\"}" }

    private func list(_ topics: [String]) -> String {
        "[" + topics.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
    }

    /// An Erlang list of strings; refuses topics EMQX would read as placeholders.
    private func quoted(_ topics: [String], placeholders: Bool = false) throws(PolicyError) -> String {
        var parts: [String] = []
        for topic in topics {
            if !placeholders && topic.contains("${") {
                throw PolicyError("topic '\(topic)' holds '${', which EMQX would read as a placeholder")
            }
            parts.append("\"" + topic.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\"")
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    private func placeholderText(_ template: TopicTemplate) throws(PolicyError) -> String {
        if template.text.contains("${") {
            throw PolicyError("topic '\(template.text)' holds '${', which EMQX would read as a placeholder")
        }
        return template.widened(device: "${username}").text
    }
}
