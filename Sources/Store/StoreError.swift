/// A failure reported by SQLite or by the store's own checks.
///
/// `message` is one sentence for an operator; it names the SQLite call and the path where known,
/// and carries SQLite's own text. `code` is SQLite's primary result code (0 for the store's own checks).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// True when the database file is damaged or is not a database at all.
    public var isCorruption: Bool { code == 11 || code == 26 }  // SQLITE_CORRUPT, SQLITE_NOTADB

    /// True when the disk or the file system refused to take more data.
    public var isFull: Bool { code == 13 }  // SQLITE_FULL

    /// True for SQLITE_CONSTRAINT: a unique key or check was violated.
    public var isConstraint: Bool { code == 19 }
}
