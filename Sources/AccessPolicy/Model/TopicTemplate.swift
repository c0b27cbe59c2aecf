/// A topic filter as written in a policy, whose levels may be placeholders filled per principal:
/// `{device}` (the device id), `{group}` (each of the device's groups the rule applies through) and
/// `{attr.NAME}` (the device's attribute NAME). A placeholder is always a whole level.
public struct TopicTemplate: Sendable, Hashable, CustomStringConvertible {
    /// One level of a template.
    public enum Level: Sendable, Hashable {
        case literal(String)
        case device
        case group
        case attribute(String)
    }

    /// The filter as written in the policy.
    public let text: String
    /// Its levels, split at `/`.
    public let levels: [Level]

    /// Parses and validates `text`: the filter rules of MQTT, and placeholders that are whole levels.
    public init(_ text: String) throws(PolicyError) {
        // A control character could end a line of an exported ACL file and start a forged one.
        if let bad = text.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw PolicyError("topic '\(text.debugDescription.dropFirst().dropLast())' holds the control character "
                + "U+\(String(bad.value, radix: 16, uppercase: true)); topics in policies may not")
        }
        if text.first?.isWhitespace == true || text.last?.isWhitespace == true {
            throw PolicyError("topic '\(text)' starts or ends with a space, which line-based ACL files cannot hold")
        }
        var levels: [Level] = []
        var sample: [String] = []
        for raw in text.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
            if raw.contains("{") || raw.contains("}") {
                let level = try TopicTemplate.placeholder(raw, in: text)
                levels.append(level)
                sample.append("x")
            } else {
                levels.append(.literal(raw))
                sample.append(raw)
            }
        }
        _ = try TopicFilter(sample.joined(separator: "/")).text  // wildcard placement, length, NUL
        self.text = text
        self.levels = levels
    }

    /// The text as written.
    public var description: String { text }

    /// The template with no placeholders, as a filter; nil when it has placeholders.
    public var literalFilter: TopicFilter? {
        usesPlaceholders ? nil : try? TopicFilter(text)
    }

    /// True when any level is a placeholder.
    public var usesPlaceholders: Bool { levels.contains { if case .literal = $0 { false } else { true } } }
    /// True when a level is `{device}`.
    public var usesDevice: Bool { levels.contains(.device) }
    /// True when a level is `{group}`.
    public var usesGroup: Bool { levels.contains(.group) }

    /// Attribute names the template refers to.
    public var attributeNames: [String] {
        levels.compactMap { if case .attribute(let name) = $0 { name } else { nil } }
    }

    /// True when every placeholder is `{device}`: the template can become a `%u` pattern.
    public var isDeviceOnly: Bool {
        usesDevice && !levels.contains { level in
            switch level {
            case .group, .attribute: return true
            default: return false
            }
        }
    }

    /// The filter for `principal` reached through `group`; nil when a placeholder has no value for it.
    public func expand(for principal: Principal, group: String?) -> TopicFilter? {
        var parts: [String] = []
        for level in levels {
            switch level {
            case .literal(let text): parts.append(text)
            case .device:
                guard principal.kind == .device else { return nil }
                parts.append(principal.id)
            case .group:
                guard let group else { return nil }
                parts.append(group)
            case .attribute(let name):
                guard let value = principal.attributes[name] else { return nil }
                parts.append(value)
            }
        }
        // Safe without re-validation: literals were validated in init, and every filled value is a name in
        // the id charset (no '/', '+', '#', NUL), so the shape of the filter cannot change.
        return TopicFilter(trusted: parts)
    }

    /// The template with each `{device}` level replaced by `marker` and other placeholders by `+`:
    /// the widest filter it can stand for, used by lint and by the exporters' overlap checks.
    public func widened(device marker: String = "+") -> TopicFilter {
        let parts = levels.map { level -> String in
            switch level {
            case .literal(let text): return text
            case .device: return marker
            case .group, .attribute: return "+"
            }
        }
        // Safe: the literal levels were validated in init, and each placeholder became one level (a name
        // without '/' or '#', or '+').
        return TopicFilter(trusted: parts)
    }

    private static func placeholder(_ raw: String, in text: String) throws(PolicyError) -> Level {
        guard raw.hasPrefix("{"), raw.hasSuffix("}"), raw.count > 2 else {
            throw PolicyError("topic '\(text)' has a placeholder that is not a whole level: '\(raw)'")
        }
        let name = String(raw.dropFirst().dropLast())
        switch name {
        case "device": return .device
        case "group": return .group
        default:
            guard name.hasPrefix("attr.") else {
                throw PolicyError("topic '\(text)' uses the unknown placeholder '\(raw)'; "
                    + "use {device}, {group} or {attr.NAME}")
            }
            let attribute = String(name.dropFirst(5))
            try Principal.validateName(attribute, what: "attribute name in '\(raw)'")
            return .attribute(attribute)
        }
    }
}
