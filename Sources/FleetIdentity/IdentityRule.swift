/// The one rule for the names the fleet shares between certificates, broker usernames, MQTT client ids and
/// topic levels: device ids, service names, groups, attribute names and values, stream names.
///
/// A name is 1 to 64 characters of `A-Z a-z 0-9 . _ -`, starts with a letter or digit and never holds
/// `..`. So it can never contain `/`, `+`, `#`, `$`, NUL or whitespace, which is what makes Mosquitto's
/// `%u` patterns and the topic templates safe. Every module checks names through this type.
public enum IdentityRule {
    /// The longest name accepted.
    public static let maximumLength = 64

    /// True when `name` follows the rule. Reads bytes only: cheap enough for every received message.
    public static func isValid(_ name: some StringProtocol) -> Bool {
        let bytes = name.utf8
        guard (1...maximumLength).contains(bytes.count), let first = bytes.first, isLetterOrDigit(first) else {
            return false
        }
        var previous: UInt8 = 0
        for byte in bytes {
            guard isLetterOrDigit(byte) || byte == dot || byte == underscore || byte == hyphen else { return false }
            if byte == dot && previous == dot { return false }
            previous = byte
        }
        return true
    }

    /// Nil when `name` follows the rule; otherwise one sentence that quotes the name (control characters
    /// escaped) and says what is wrong. `what` names it: `device id`, `group`, `stream name`.
    public static func problem(with name: some StringProtocol, what: String) -> String? {
        let name = String(name)
        guard !name.isEmpty else { return "the \(what) is empty; it needs 1 to \(maximumLength) characters" }
        let quoted = quote(name)
        let length = name.unicodeScalars.count
        guard length <= maximumLength else {
            return "\(what) \(quoted) is \(length) characters long; the limit is \(maximumLength)"
        }
        for scalar in name.unicodeScalars where !isAllowed(scalar) {
            return "\(what) \(quoted) may not contain \(describe(scalar)); use only letters, digits, '.', '_' and '-'"
        }
        guard let first = name.unicodeScalars.first, scalar(first, isIn: isLetterOrDigit) else {
            return "\(what) \(quoted) must start with a letter or digit"
        }
        guard !name.contains("..") else { return "\(what) \(quoted) may not contain '..'" }
        return nil
    }

    /// `name` in single quotes with control characters escaped, so a message never carries raw control bytes.
    public static func quote(_ name: String) -> String {
        var text = "'"
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                text += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text + "'"
    }

    private static let dot = UInt8(ascii: "."), underscore = UInt8(ascii: "_"), hyphen = UInt8(ascii: "-")

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func scalar(_ scalar: Unicode.Scalar, isIn test: (UInt8) -> Bool) -> Bool {
        scalar.isASCII && test(UInt8(scalar.value))
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        Self.scalar(scalar) { isLetterOrDigit($0) || $0 == dot || $0 == underscore || $0 == hyphen }
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\0": return "a NUL character"
        case " ": return "a space"
        case "\t", "\n", "\r": return "whitespace"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                return "the control character U+\(String(scalar.value, radix: 16))"
            }
            return "'\(Character(scalar))'"
        }
    }
}
