/// The words after a command's name, consumed by name as the command reads them.
///
/// Options are `--name value` or `--name=value`; flags are `--name`; the rest are positionals.
/// A command reads its options and flags first, then its positionals, then calls `finish()`, which
/// refuses any word left over, so a misspelt option is an error and never silently ignored.
public struct Arguments: Sendable {
    private var words: [String]

    public init(_ words: [String]) { self.words = words }

    /// True when `--help` or `-h` is among the words.
    public var wantsHelp: Bool { words.contains("--help") || words.contains("-h") }

    /// Removes `name` and reports whether it was present.
    public mutating func flag(_ name: String) -> Bool {
        guard let index = words.firstIndex(of: name) else { return false }
        words.remove(at: index)
        return true
    }

    /// Removes the last `name value` (or `name=value`) and returns the value.
    public mutating func option(_ name: String) throws(UsageError) -> String? {
        try options(name).last
    }

    /// Removes every `name value` (or `name=value`) and returns the values in order.
    ///
    /// An empty value is refused: no option means anything by '' (an empty `--home` or `--out` would
    /// otherwise fall back to a default folder or name the current one without the operator noticing).
    public mutating func options(_ name: String) throws(UsageError) -> [String] {
        var values: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == name {
                guard index + 1 < words.count else { throw UsageError("option '\(name)' needs a value") }
                values.append(words[index + 1])
                words.removeSubrange(index...(index + 1))
            } else if word.hasPrefix(name + "=") {
                values.append(String(word.dropFirst(name.count + 1)))
                words.remove(at: index)
            } else {
                index += 1
            }
        }
        if values.contains(where: \.isEmpty) {
            throw UsageError("option '\(name)' was given an empty value; give it a non-empty one")
        }
        return values
    }

    /// An option parsed by `parse`; a value `parse` rejects becomes a usage error naming the option.
    public mutating func option<T>(_ name: String, _ parse: (String) -> T?) throws(UsageError) -> T? {
        guard let text = try option(name) else { return nil }
        guard let value = parse(text) else { throw UsageError("'\(text)' is not a valid value for \(name)") }
        return value
    }

    /// Removes and returns the next word that is not an option, or nil when none is left.
    public mutating func nextPositional() -> String? {
        guard let index = words.firstIndex(where: { !$0.hasPrefix("--") || $0 == "--" }) else { return nil }
        if words[index] == "--" {
            words.remove(at: index)
            return words.isEmpty ? nil : words.removeFirst()
        }
        return words.remove(at: index)
    }

    /// The next positional; `what` names it in the error when it is missing.
    public mutating func positional(_ what: String) throws(UsageError) -> String {
        guard let value = nextPositional() else { throw UsageError("missing \(what)") }
        return value
    }

    /// Refuses any word that no option, flag or positional consumed.
    public func finish() throws(UsageError) {
        guard let first = words.first else { return }
        if first.hasPrefix("-") { throw UsageError("unknown option '\(first)'") }
        throw UsageError("unexpected argument '\(first)'")
    }
}
