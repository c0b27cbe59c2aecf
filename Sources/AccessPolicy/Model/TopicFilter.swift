/// An MQTT topic filter, validated, with the matching rules of MQTT 3.1.1/5 section 4.7 as Mosquitto applies them.
///
/// `+` matches exactly one level (an empty one too), `#` matches any number of levels including none and
/// must be the whole last level. A filter whose first level is a wildcard never matches a topic that starts
/// with `$`. Empty levels are legal and significant: `a//b` has three levels.
public struct TopicFilter: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public let levels: [String]

    /// Mosquitto 2.0 treats a topic or filter of more levels as a malformed packet and drops the client.
    public static let maximumLevels = 200

    /// Validates `text` as a filter; the error names the filter and what is wrong with it.
    public init(_ text: String) throws(PolicyError) {
        guard !text.isEmpty else { throw PolicyError("topic filter is empty") }
        guard text.utf8.count <= 65_535 else { throw PolicyError("topic filter is longer than 65535 bytes") }
        guard !text.unicodeScalars.contains("\u{0}") else { throw PolicyError("topic filter holds a NUL character") }
        let levels = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for (index, level) in levels.enumerated() {
            if level.utf8.contains(UInt8(ascii: "#")) {
                guard level == "#" else {
                    throw PolicyError(
                        "topic filter '\(text)' has '#' inside the level '\(level)'; '#' must be a whole level")
                }
                guard index == levels.count - 1 else {
                    throw PolicyError("topic filter '\(text)' has '#' before its last level")
                }
            }
            if level.utf8.contains(UInt8(ascii: "+")), level != "+" {
                throw PolicyError(
                    "topic filter '\(text)' has '+' inside the level '\(level)'; '+' must be a whole level")
            }
        }
        self.text = text
        self.levels = levels
    }

    /// A filter from parts already known to be valid: a validated template filled with validated names.
    init(trusted levels: [String]) {
        self.levels = levels
        self.text = levels.joined(separator: "/")
    }

    public var description: String { text }

    /// True when the filter holds `+` or `#`.
    public var hasWildcards: Bool { levels.contains { $0 == "+" || $0 == "#" } }

    /// True when some level is empty (`a//b`, `/a`, `a/`): legal, but usually a typing mistake.
    public var hasEmptyLevels: Bool { levels.contains("") }

    /// Whether the topic name `topic` (no wildcards) matches this filter.
    public func matches(_ topic: String) -> Bool {
        let names = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = levels.first, first == "+" || first == "#" { return false }
        for (index, level) in levels.enumerated() {
            if level == "#" { return true }
            guard index < names.count else { return false }
            if level != "+" && names[index] != level { return false }
        }
        return levels.count == names.count
    }

    /// Whether every topic `other` matches is matched by this filter too.
    public func covers(_ other: TopicFilter) -> Bool {
        if let first = levels.first, first == "+" || first == "#", other.levels[0].hasPrefix("$") { return false }
        for (index, level) in levels.enumerated() {
            if level == "#" { return true }
            guard index < other.levels.count else { return false }
            let theirs = other.levels[index]
            if theirs == "#" { return false }
            if level == "+" { continue }
            if theirs == "+" || theirs != level { return false }
        }
        return levels.count == other.levels.count
    }

    /// Whether some topic matches both this filter and `other`.
    public func intersects(_ other: TopicFilter) -> Bool {
        let mine = levels, theirs = other.levels
        let wildcard: (String) -> Bool = { $0 == "+" || $0 == "#" }
        if wildcard(mine[0]) && theirs[0].hasPrefix("$") { return false }
        if wildcard(theirs[0]) && mine[0].hasPrefix("$") { return false }
        for index in 0..<min(mine.count, theirs.count) {
            let a = mine[index], b = theirs[index]
            if a == "#" || b == "#" { return true }
            if a == "+" || b == "+" { continue }
            if a != b { return false }
        }
        if mine.count == theirs.count { return true }
        let longer = mine.count > theirs.count ? mine : theirs
        return longer[min(mine.count, theirs.count)] == "#"
    }

    /// Refuses a topic name that cannot be published: empty, too long, NUL, or holding a wildcard.
    public static func validateTopicName(_ topic: String) throws(PolicyError) {
        guard !topic.isEmpty else { throw PolicyError("topic is empty") }
        guard topic.utf8.count <= 65_535 else { throw PolicyError("topic is longer than 65535 bytes") }
        guard !topic.unicodeScalars.contains("\u{0}") else { throw PolicyError("topic holds a NUL character") }
        if topic.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }) {
            throw PolicyError("topic '\(topic)' holds a wildcard; a topic name may not contain '+' or '#'")
        }
    }
}
