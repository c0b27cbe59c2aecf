/// One result row, read by column name or position. Values are copied out of SQLite, so a row
/// stays valid after its statement moves on.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public subscript(index: Int) -> SQLValue { values[index] }

    /// The value of the named column; `.null` when no column has that name.
    public subscript(name: String) -> SQLValue {
        guard let index = columns.firstIndex(of: name) else { return .null }
        return values[index]
    }
}
