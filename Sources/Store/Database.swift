import CSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// One SQLite connection. It owns the `sqlite3*` handle and closes it in `deinit`.
///
/// A `Database` is used by one thread at a time; owners that share one across threads serialise
/// access themselves (a `Mutex` around it). Files are created with mode 0600 and opened in WAL mode
/// with a busy timeout, so several processes may use the same file at once.
public final class Database {
    /// How hard a commit works to reach the disk before it returns.
    public enum Durability: String, Sendable, CaseIterable {
        /// A commit survives a killed process; the last commits may be lost in a power cut.
        case process
        /// A commit survives a power cut too: SQLite syncs the WAL on every commit.
        case power
    }

    let handle: OpaquePointer
    public let path: String
    private var statements: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path`.
    ///
    /// - Parameters:
    ///   - busyTimeoutMilliseconds: how long to wait for another process's lock before failing.
    ///   - durability: see `Durability`.
    public init(
        path: String, busyTimeoutMilliseconds: Int32 = 10_000, durability: Durability = .power
    ) throws(StoreError) {
        let existed = access(path, F_OK) == 0
        if !existed {
            // Create the file ourselves so it never exists with a wider mode, even for an instant.
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            if descriptor < 0 && errno != EEXIST {
                throw StoreError(code: SQLITE_CANTOPEN, message: "cannot create database '\(path)': \(errnoText())")
            }
            if descriptor >= 0 { close(descriptor) }
        }

        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let text = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw StoreError(code: status, message: "cannot open database '\(path)': \(text)")
        }
        self.handle = handle
        self.path = path
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(handle, 0)

        // Switching to WAL needs a moment of exclusive access, and SQLite reports a busy file at once here
        // instead of waiting: retry while another process is creating or opening the same file.
        var attempts = 0
        while true {
            do {
                try execute("PRAGMA journal_mode=WAL")
                break
            } catch let error where (error.code == SQLITE_BUSY || error.code == SQLITE_LOCKED) && attempts < 200 {
                attempts += 1
                usleep(10_000)
            }
        }
        try execute("PRAGMA synchronous=\(durability == .power ? "FULL" : "NORMAL")")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that take no parameters and return nothing useful.
    public func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_free(message)
            throw StoreError(code: status, message: "database '\(path)': \(text) (in '\(sql.prefix(80))')")
        }
    }

    /// Runs one statement with parameters. The prepared statement is cached by its SQL text.
    public func run(_ sql: String, _ values: [SQLValue] = []) throws(StoreError) {
        let statement = try prepared(sql)
        try statement.bind(values)
        try statement.run()
    }

    /// Runs one query with parameters and returns all its rows.
    public func query(_ sql: String, _ values: [SQLValue] = []) throws(StoreError) -> [Row] {
        let statement = try prepared(sql)
        try statement.bind(values)
        return try statement.rows()
    }

    /// The first row of a query, or nil when it returns none.
    public func queryOne(_ sql: String, _ values: [SQLValue] = []) throws(StoreError) -> Row? {
        try query(sql, values).first
    }

    /// The rowid of the last insert on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; any error rolls back and is rethrown.
    ///
    /// IMMEDIATE takes the write lock up front, so two processes cannot both read and then both write
    /// the same state (a serial, a sequence number) inside their transactions.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Applies the migrations whose index is at or above the database's `user_version`, each in its
    /// own transaction, and leaves `user_version` equal to `migrations.count`.
    ///
    /// Each step reads the version again inside its write transaction, so two processes opening a new file
    /// at once never both run the same step (the second finds it done and moves on).
    public func migrate(_ migrations: [String]) throws {
        // Up to date (the common case): no write lock needed.
        if Int(try queryOne("PRAGMA user_version")?[0].int64 ?? 0) == migrations.count { return }
        while true {
            let done = try transaction { () throws -> Bool in
                let current = Int(try queryOne("PRAGMA user_version")?[0].int64 ?? 0)
                guard current <= migrations.count else {
                    throw StoreError(
                        code: 0,
                        message: "database '\(path)' has schema version \(current), newer "
                            + "than this program knows (\(migrations.count)); use a newer release")
                }
                guard current < migrations.count else { return true }
                try execute(migrations[current])
                try execute("PRAGMA user_version=\(current + 1)")
                return false
            }
            if done { return }
        }
    }

    /// Runs SQLite's `quick_check`; returns nil when the file is sound, else SQLite's description.
    public func integrityProblem() -> String? {
        do {
            let rows = try query("PRAGMA quick_check")
            let text = rows.compactMap { $0[0].string }.joined(separator: "; ")
            return text == "ok" ? nil : text
        } catch {
            return error.message
        }
    }

    func prepared(_ sql: String) throws(StoreError) -> Statement {
        if let statement = statements[sql] { return statement }
        let statement = try Statement(database: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    func error(_ status: Int32, _ action: String) -> StoreError {
        StoreError(
            code: status & 0xff, message: "database '\(path)': \(action): \(String(cString: sqlite3_errmsg(handle)))")
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
