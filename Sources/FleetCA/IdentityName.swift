/// The rules every device id, service name, group and attribute key obeys.
///
/// 1 to 64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit, never `..`. These
/// names become certificate CNs, broker usernames, MQTT client ids and topic levels, so anything
/// that means something to a broker (`/ + # $`, NUL, whitespace) can never get in.
public enum IdentityName {
    /// The longest name accepted.
    public static let maximumLength = 64

    /// Throws unless `name` is a valid identity; `what` names it in the message (`device id`, `group`).
    public static func validate(_ name: String, as what: String = "device id") throws(FleetCAError) {
        guard !name.isEmpty else { throw .invalid("the \(what) is empty; it needs 1 to 64 characters") }
        let quoted = quote(name)
        guard name.unicodeScalars.count <= maximumLength else {
            throw .invalid(
                "\(what) \(quoted) is \(name.unicodeScalars.count) characters long; the limit is \(maximumLength)")
        }
        for scalar in name.unicodeScalars where !isAllowed(scalar) {
            throw .invalid(
                "\(what) \(quoted) may not contain \(describe(scalar)); "
                    + "use only letters, digits, '.', '_' and '-'")
        }
        guard let first = name.unicodeScalars.first, isLetterOrDigit(first) else {
            throw .invalid("\(what) \(quoted) must start with a letter or digit")
        }
        guard !name.contains("..") else { throw .invalid("\(what) \(quoted) may not contain '..'") }
    }

    /// True when `validate` would accept `name`.
    public static func isValid(_ name: String) -> Bool {
        do { try validate(name) } catch { return false }
        return true
    }

    private static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        isLetterOrDigit(scalar) || scalar == "." || scalar == "_" || scalar == "-"
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

    /// The name in quotes with control characters escaped, so a message never carries raw control bytes.
    static func quote(_ name: String) -> String {
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
}
