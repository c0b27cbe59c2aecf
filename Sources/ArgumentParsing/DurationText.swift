/// Durations as operators write them: a whole number and a unit, `90s`, `15m`, `12h`, `30d`, `2y`.
/// Several may be joined (`1d12h`). A year is 365 days.
public enum DurationText {
    /// The number of seconds `text` stands for, or nil when it is not a duration.
    public static func seconds(_ text: String) -> Int64? {
        var total: Int64 = 0
        var number: Int64? = nil
        var sawUnit = false
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (scaled, overflowA) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (next, overflowB) = scaled.addingReportingOverflow(Int64(digit))
                guard !overflowA, !overflowB else { return nil }
                number = next
                continue
            }
            guard let value = number, let unit = unitSeconds(character) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            let (sum, overflowSum) = total.addingReportingOverflow(product)
            guard !overflowSum else { return nil }
            total = sum
            number = nil
            sawUnit = true
        }
        guard number == nil, sawUnit, total > 0 else { return nil }
        return total
    }

    /// `seconds` written back in the largest unit that divides it exactly (`86400` → `1d`).
    public static func format(_ seconds: Int64) -> String {
        for (unit, size) in [("y", Int64(31_536_000)), ("d", 86_400), ("h", 3_600), ("m", 60)]
        where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    private static func unitSeconds(_ unit: Character) -> Int64? {
        switch unit {
        case "s": return 1
        case "m": return 60
        case "h": return 3_600
        case "d": return 86_400
        case "w": return 604_800
        case "y": return 31_536_000
        default: return nil
        }
    }
}
