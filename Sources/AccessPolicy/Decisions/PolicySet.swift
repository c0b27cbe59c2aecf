import Foundation

/// All the rules of a policy folder, and the decisions they make.
///
/// Semantics: a rule applies to a principal when its subject names it; templates are filled with the
/// principal's id, groups and attributes (a rule whose placeholder has no value for it does not apply).
/// Among the rules that apply and whose filter matches the topic, a deny wins over an allow; with no
/// matching rule the answer is deny. Revoked principals are denied everything.
public struct PolicySet: Sendable {
    public let rules: [PolicyRule]
    /// Groups declared under `groups:` in any file, with where they were declared.
    public let declaredGroups: [String: SourceLocation]
    /// Attribute names declared under `attributes:` in any file.
    public let declaredAttributes: [String: SourceLocation]
    /// The files read, in the order read.
    public let files: [String]

    public init(
        rules: [PolicyRule], declaredGroups: [String: SourceLocation] = [:],
        declaredAttributes: [String: SourceLocation] = [:], files: [String] = []
    ) {
        self.rules = rules.sorted { $0.location < $1.location }
        self.declaredGroups = declaredGroups
        self.declaredAttributes = declaredAttributes
        self.files = files
    }

    /// Loads every `*.yaml`, `*.yml` and `*.json` file of `directory` (sorted by name), or one file.
    ///
    /// - Throws: `PolicyErrors` listing every problem found, each with its file and line.
    public static func load(path: String) throws(PolicyErrors) -> PolicySet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolicyErrors([PolicyError("policy folder '\(path)' does not exist")])
        }
        var paths = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            paths = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
                .sorted().map { (path.hasSuffix("/") ? path : path + "/") + $0 }
            guard !paths.isEmpty else {
                throw PolicyErrors([PolicyError("policy folder '\(path)' holds no .yaml, .yml or .json file")])
            }
        }
        var sources: [(file: String, text: String)] = []
        for file in paths {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw PolicyErrors([PolicyError("cannot read policy file '\(file)'")])
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw PolicyErrors([PolicyError("is not UTF-8 text", file: file)])
            }
            sources.append((file, text))
        }
        return try parse(sources)
    }

    /// Builds a policy set from texts already in memory; `file` names each in locations and errors.
    public static func parse(_ sources: [(file: String, text: String)]) throws(PolicyErrors) -> PolicySet {
        var reader = PolicyFileReader()
        for source in sources { reader.read(source.text, file: source.file) }
        guard reader.errors.isEmpty else { throw PolicyErrors(reader.errors) }
        return PolicySet(rules: reader.rules, declaredGroups: reader.groups, declaredAttributes: reader.attributes,
            files: sources.map(\.file))
    }

    /// `$SYS` or `$share` when `topic` starts with it: Mosquitto refuses every client publish there
    /// (MQTT reserves `$SYS` for the server; `$share` only prefixes shared subscriptions).
    public static func brokerReservedRoot(ofTopic topic: String) -> String? {
        for root in ["$SYS", "$share"] where topic == root || topic.hasPrefix(root + "/") { return root }
        return nil
    }

    /// Every filter each rule gives `principal`, in rule order; empty for a revoked principal.
    public func grants(for principal: Principal) -> [Grant] {
        guard !principal.revoked else { return [] }
        return rules.flatMap { rule in rule.filters(for: principal).map { Grant(rule: rule, filter: $0) } }
    }

    /// Decides whether `principal` may `action` on `topic`.
    ///
    /// `topic` is normally a topic name. For `subscribe` it may be a filter: then it is allowed only
    /// when allow rules cover all of it and no deny rule reaches into it, since the broker would
    /// otherwise deliver part of it.
    public func decide(_ principal: Principal?, _ action: Action, _ topic: String) throws(PolicyError) -> Decision {
        let isFilter = topic.contains("+") || topic.contains("#")
        if isFilter && action == .publish {
            throw PolicyError("topic '\(topic)' holds a wildcard; a publish needs a topic name")
        }
        let filter: TopicFilter? = isFilter ? try TopicFilter(topic) : nil
        if !isFilter { try TopicFilter.validateTopicName(topic) }
        guard let principal else {
            return Decision(allowed: false, rule: nil, reason: "the client is not in the inventory")
        }
        let depth = topic.utf8.reduce(1) { $1 == UInt8(ascii: "/") ? $0 + 1 : $0 }
        if depth > TopicFilter.maximumLevels {
            return Decision(allowed: false, rule: nil, reason: "the topic has \(depth) levels; Mosquitto refuses more "
                + "than \(TopicFilter.maximumLevels) and disconnects the client")
        }
        if principal.revoked {
            let who = "\(principal.kind.rawValue) '\(principal.id)'"
            return Decision(allowed: false, rule: nil, reason: "\(who) is revoked")
        }
        if action == .publish, let reserved = PolicySet.brokerReservedRoot(ofTopic: topic) {
            return Decision(allowed: false, rule: nil,
                reason: "topics under '\(reserved)' are written by the broker only; no client may publish there")
        }
        let relevant = grants(for: principal).filter { $0.action == action }
        let denies = relevant.filter { $0.effect == .deny }
        let allows = relevant.filter { $0.effect == .allow }
        if let filter {
            if let deny = denies.first(where: { $0.filter.intersects(filter) }) {
                return Decision(allowed: false, rule: deny.rule, reason: "denied by \(deny.rule)")
            }
            if let allow = allows.first(where: { $0.filter.covers(filter) }) {
                return Decision(allowed: true, rule: allow.rule, reason: "allowed by \(allow.rule)")
            }
            return Decision(allowed: false, rule: nil, reason: "no rule allows all of '\(topic)'")
        }
        if let deny = denies.first(where: { $0.filter.matches(topic) }) {
            return Decision(allowed: false, rule: deny.rule, reason: "denied by \(deny.rule)")
        }
        if let allow = allows.first(where: { $0.filter.matches(topic) }) {
            return Decision(allowed: true, rule: allow.rule, reason: "allowed by \(allow.rule)")
        }
        return Decision(allowed: false, rule: nil, reason: "no rule allows it (default deny)")
    }
}
