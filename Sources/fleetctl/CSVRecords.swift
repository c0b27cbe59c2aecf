/// One record of a CSV text: its fields and the line it starts on (1-based; a quoted field may span lines).
struct CSVRecord {
    let line: Int
    let fields: [String]
}

/// A CSV text read by RFC 4180: fields separated by commas, records by line breaks (CRLF, LF or CR), a field
/// in double quotes may hold commas, line breaks and doubled quotes (`""` for `"`). Unquoted fields are
/// trimmed of surrounding spaces; blank lines are skipped.
enum CSVRecords {
    /// A malformed text: the line and what is wrong there.
    struct Problem: Error {
        let line: Int
        let message: String
    }

    private enum State {
        case fieldStart, unquoted, quoted, afterQuote
    }

    static func parse(_ text: String) throws(Problem) -> [CSVRecord] {
        var records: [CSVRecord] = []
        var fields: [String] = []
        var field = ""
        var state = State.fieldStart
        var line = 1
        var recordLine = 1
        var quoteLine = 1

        func endField() {
            fields.append(state == .afterQuote ? field : field.trimmingSpaces)
            field = ""
        }
        func endRecord() {
            endField()
            if fields != [""] || state == .afterQuote { records.append(CSVRecord(line: recordLine, fields: fields)) }
            fields = []
            state = .fieldStart
            line += 1
            recordLine = line
        }

        for character in text {
            switch state {
            case .fieldStart, .unquoted:
                if character == "\"" {
                    guard field.trimmingSpaces.isEmpty else {
                        throw Problem(
                            line: line,
                            message: "a quote inside the unquoted field '\(field)\"'; quote the whole field "
                                + "and write a quote in it as \"\"")
                    }
                    field = ""
                    state = .quoted
                    quoteLine = line
                } else if character == "," {
                    endField()
                    state = .fieldStart
                } else if character.isNewline {
                    endRecord()
                } else {
                    field.append(character)
                    state = .unquoted
                }
            case .quoted:
                if character == "\"" {
                    state = .afterQuote
                } else {
                    if character.isNewline { line += 1 }
                    field.append(character)
                }
            case .afterQuote:
                if character == "\"" {
                    field.append("\"")
                    state = .quoted
                } else if character == "," {
                    endField()
                    state = .fieldStart
                } else if character.isNewline {
                    endRecord()
                } else if character != " " && character != "\t" {
                    throw Problem(
                        line: line, message: "'\(character)' after the closing quote of the field \"\(field)\"")
                }
            }
        }
        if state == .quoted {
            throw Problem(line: quoteLine, message: "the quoted field opened on this line is never closed")
        }
        if state != .fieldStart || !fields.isEmpty || !field.isEmpty { endRecord() }
        return records
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
