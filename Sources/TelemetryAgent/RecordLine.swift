/// Reads one newline-delimited JSON record without building it: checks that the line is one well-formed
/// JSON object and picks out the top-level `"stream"` (a string) and `"captured"` (an integer). It is the
/// socket's hot path, where a full decoder cost more than committing the record.
struct RecordLine {
    let stream: String
    let captured: Int64?

    /// Nil when the line is not a JSON object with a string "stream" (or "captured" is not an integer).
    init?(_ bytes: [UInt8]) {
        var scanner = Scanner(bytes: bytes)
        var stream: String?
        var captured: Int64?
        var badCaptured = false
        let complete = scanner.object { key, scanner in
            if key == "stream" {
                guard let text = scanner.string() else { return false }
                stream = text
                return true
            }
            if key == "captured" {
                let start = scanner.index
                guard scanner.value() else { return false }
                captured = Int64(String(decoding: bytes[start..<scanner.index], as: UTF8.self))
                badCaptured = captured == nil
                return true
            }
            return scanner.value()
        }
        scanner.skipSpace()
        guard complete, scanner.index == bytes.count, let stream, !badCaptured else { return nil }
        self.stream = stream
        self.captured = captured
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A { index += 1 }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipSpace()
            guard current == byte else { return false }
            index += 1
            return true
        }

        /// An object; `member` reads each value after its key and returns whether it was well formed.
        mutating func object(_ member: (String, inout Scanner) -> Bool) -> Bool {
            guard expect(UInt8(ascii: "{")), depth < 64 else { return false }
            depth += 1
            defer { depth -= 1 }
            skipSpace()
            if current == UInt8(ascii: "}") {
                index += 1
                return true
            }
            while true {
                skipSpace()
                guard let key = string(), expect(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard member(key, &self) else { return false }
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                return expect(UInt8(ascii: "}"))
            }
        }

        mutating func array() -> Bool {
            guard expect(UInt8(ascii: "[")), depth < 64 else { return false }
            depth += 1
            defer { depth -= 1 }
            skipSpace()
            if current == UInt8(ascii: "]") {
                index += 1
                return true
            }
            while true {
                guard value() else { return false }
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                return expect(UInt8(ascii: "]"))
            }
        }

        /// A string value, unescaped only as far as the key and stream names need (escapes are kept as
        /// written; a name with escapes simply matches no configured stream).
        mutating func string() -> String? {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            while let byte = current {
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: bytes[start..<index], as: UTF8.self)
                    index += 1
                    return text
                }
                if byte < 0x20 { return nil }
                if byte == UInt8(ascii: "\\") {
                    index += 1
                    guard let escaped = current, Array("\"\\/bfnrtu".utf8).contains(escaped) else { return nil }
                }
                index += 1
            }
            return nil
        }

        mutating func value() -> Bool {
            skipSpace()
            switch current {
            case UInt8(ascii: "{"): return object { _, scanner in scanner.value() }
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: String) -> Bool {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<(index + expected.count)]) == expected
            else { return false }
            index += expected.count
            return true
        }

        mutating func number() -> Bool {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            var digits = 0
            while let byte = current, (0x30...0x39).contains(byte) {
                index += 1
                digits += 1
            }
            guard digits > 0 else { return false }
            if current == UInt8(ascii: ".") {
                index += 1
                var fraction = 0
                while let byte = current, (0x30...0x39).contains(byte) {
                    index += 1
                    fraction += 1
                }
                guard fraction > 0 else { return false }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                var exponent = 0
                while let byte = current, (0x30...0x39).contains(byte) {
                    index += 1
                    exponent += 1
                }
                guard exponent > 0 else { return false }
            }
            return index > start
        }
    }
}
