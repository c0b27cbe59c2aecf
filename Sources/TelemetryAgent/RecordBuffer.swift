import Store

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The agent's durable outbox: an SQLite file in WAL mode holding every accepted record until it is confirmed
/// (by the broker's acknowledgement, or with `confirm: consumer` by the consumer's receipt).
///
/// Limits in rows and payload bytes hold exactly at every commit; when full, bulk records go before
/// normal before critical, oldest first, and a record that could only fit by evicting higher-priority
/// data is refused. Totals, counters, the sequence number and the boot epoch live in the same file and
/// change in the same transactions as the records, so another process (`fleet-agent send`) may append
/// while the agent runs. A file that is damaged at open is moved aside and a new one started (K13).
public final class RecordBuffer {
    /// The limits the buffer enforces.
    public struct Limits: Sendable {
        /// At most this many records.
        public var maxRows: Int
        /// At most this many payload bytes.
        public var maxBytes: Int

        /// Limits of `maxRows` records and `maxBytes` payload bytes.
        public init(maxRows: Int, maxBytes: Int) {
            self.maxRows = maxRows
            self.maxBytes = maxBytes
        }
    }

    /// The SQLite file.
    public let path: String
    /// The limits it enforces.
    public let limits: Limits
    /// Where a damaged file found at open was moved, if one was.
    public private(set) var setAsidePath: String?
    private var database: Database
    private let streams: [String: StreamConfiguration]
    /// Refusals that could not be written (disk full); added at the next successful commit.
    private var unwrittenRefusals: Int64 = 0

    static let migrations = [
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('next_seq', 1), ('epoch', 0), ('rows', 0), ('bytes', 0),
            ('accepted', 0), ('delivered', 0), ('rejected', 0), ('evicted_bulk', 0), ('evicted_normal', 0),
            ('evicted_critical', 0), ('expired', 0), ('refused', 0), ('set_aside', 0);
        CREATE TABLE notes (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (
            id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, priority INTEGER NOT NULL,
            seq INTEGER NOT NULL, epoch INTEGER NOT NULL, captured_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL, size INTEGER NOT NULL, payload BLOB NOT NULL);
        CREATE INDEX records_eviction ON records (priority, id);
        CREATE INDEX records_expiry ON records (expires_ms);
        CREATE TABLE rejected (
            id INTEGER PRIMARY KEY, stream TEXT NOT NULL, seq INTEGER NOT NULL, epoch INTEGER NOT NULL,
            captured_ms INTEGER NOT NULL, reason INTEGER NOT NULL, rejected_ms INTEGER NOT NULL, payload BLOB NOT NULL);
        """,
        // Delivery receipts: `acked_ms` is set when the broker acknowledged a record that waits for the
        // consumer's receipt (NULL: not yet acknowledged); receipts find records by (epoch, seq).
        """
        ALTER TABLE records ADD COLUMN acked_ms INTEGER;
        CREATE INDEX records_key ON records (seq, epoch);
        CREATE INDEX records_awaiting ON records (acked_ms) WHERE acked_ms IS NOT NULL;
        """,
    ]

    /// Opens (or creates) the buffer at `path`. A file SQLite calls damaged is renamed to
    /// `PATH.damaged-<time>` (with its -wal and -shm) and reported through `report`; a fresh buffer
    /// takes its place, so the agent starts.
    public init(
        path: String, durability: AgentConfiguration.Durability, limits: Limits, streams: [StreamConfiguration],
        setAsideDamaged: Bool = true, report: (String) -> Void = { _ in }
    ) throws(AgentError) {
        self.path = path
        self.limits = limits
        self.streams = Dictionary(uniqueKeysWithValues: streams.map { ($0.name, $0) })
        let mode: Database.Durability = durability == .power ? .power : .process
        do {
            database = try Self.openChecked(path: path, durability: mode, quickCheck: setAsideDamaged)
        } catch let problem {
            // Only damage sets a file aside: a busy or locked file, or a folder that does not exist, is an
            // error to report, and moving a healthy buffer aside would hide records already acknowledged.
            guard problem.isDamage else {
                throw AgentError("cannot open the buffer '\(path)': \(problem.message)")
            }
            guard setAsideDamaged else {
                throw AgentError("the buffer '\(path)' is damaged: \(problem.message); start the agent to set it aside")
            }
            let aside = "\(path).damaged-\(Int64(Date().timeIntervalSince1970))"
            for suffix in ["", "-wal", "-shm"] where access(path + suffix, F_OK) == 0 {
                guard rename(path + suffix, aside + suffix) == 0 else {
                    throw AgentError(
                        "the buffer '\(path)' is damaged (\(problem.message)) and could not be moved "
                            + "aside: \(String(cString: strerror(errno)))")
                }
            }
            report("buffer file damaged, set aside path=\(path) moved_to=\(aside) problem=\(problem.message)")
            setAsidePath = aside
            do {
                database = try Self.openChecked(path: path, durability: mode)
                try database.transaction {
                    try database.run("UPDATE meta SET value = value + 1 WHERE key = 'set_aside'")
                    try database.run(
                        "INSERT OR REPLACE INTO notes (key, value) VALUES ('set_aside', ?)", [.text(aside)])
                }
            } catch {
                throw AgentError("cannot create a new buffer at '\(path)': \(error)")
            }
        }
    }

    /// Opens the buffer of `configuration` for another process than the agent (`send`, `status`): a
    /// damaged file is reported, never moved, since the running agent may hold it.
    public convenience init(configuration: AgentConfiguration) throws(AgentError) {
        try self.init(
            path: configuration.buffer.path, durability: configuration.buffer.durability,
            limits: .init(maxRows: configuration.buffer.maxRows, maxBytes: configuration.buffer.maxBytes),
            streams: configuration.streams, setAsideDamaged: false)
    }

    /// Opens and migrates; with `quickCheck` (the agent at start) SQLite first reads the whole file to find
    /// damage. Other processes skip it: damage then shows as an error of the statement that meets it.
    private static func openChecked(
        path: String, durability: Database.Durability, quickCheck: Bool = true
    ) throws(OpenProblem) -> Database {
        do {
            let database = try Database(path: path, durability: durability)
            if quickCheck, let problem = database.integrityProblem() {
                throw OpenProblem(message: problem, isDamage: true)
            }
            try database.migrate(migrations)
            return database
        } catch let problem as OpenProblem {
            throw problem
        } catch let error as StoreError {
            throw OpenProblem(message: error.message, isDamage: error.isCorruption)
        } catch {
            throw OpenProblem(message: "\(error)", isDamage: false)
        }
    }

    /// Why a buffer file could not be opened, and whether that is damage to the file itself.
    private struct OpenProblem: Error {
        let message: String
        let isDamage: Bool
    }

    // MARK: - Meta values

    private func meta() throws -> [String: Int64] {
        var values: [String: Int64] = [:]
        for row in try database.query("SELECT key, value FROM meta") {
            if let key = row[0].string, let value = row[1].int64 { values[key] = value }
        }
        return values
    }

    private func counters(_ meta: [String: Int64]) -> BufferCounters {
        var counters = BufferCounters()
        for (name, path) in BufferCounters.names { counters[keyPath: path] = meta[name] ?? 0 }
        return counters
    }

    private func add(_ delta: BufferCounters, rows: Int64, bytes: Int64) throws {
        for (name, path) in BufferCounters.names where delta[keyPath: path] != 0 {
            try database.run(
                "UPDATE meta SET value = value + ? WHERE key = ?", [.integer(delta[keyPath: path]), .text(name)])
        }
        if rows != 0 { try database.run("UPDATE meta SET value = value + ? WHERE key = 'rows'", [.integer(rows)]) }
        if bytes != 0 { try database.run("UPDATE meta SET value = value + ? WHERE key = 'bytes'", [.integer(bytes)]) }
    }

    /// Starts a new boot epoch: larger than any before in this file and at least the current Unix time in
    /// seconds, so a buffer started afresh after damage does not reuse an old epoch.
    @discardableResult
    public func beginEpoch() throws(AgentError) -> Int64 {
        do {
            return try database.transaction {
                let previous = try meta()["epoch"] ?? 0
                let epoch = max(previous + 1, Int64(Date().timeIntervalSince1970))
                try database.run("UPDATE meta SET value = ? WHERE key = 'epoch'", [.integer(epoch)])
                return epoch
            }
        } catch {
            throw AgentError("cannot start a new boot epoch in '\(path)': \(error)")
        }
    }

    // MARK: - Appending

    /// Appends `records` in one transaction (one fsync with `power` durability) and returns what became of
    /// each. Records of unknown streams, larger than the byte limit, or that would need higher-priority data
    /// evicted are refused and counted; a full disk refuses the whole batch and is reported in the outcome.
    public func append(_ records: [IncomingRecord], now: Int64) -> [AppendOutcome] {
        do {
            return try database.transaction { try appendInTransaction(records, now: now) }
        } catch let error as StoreError where error.isFull {
            unwrittenRefusals += Int64(records.count)
            return records.map { _ in .refused("the disk holding '\(path)' is full") }
        } catch {
            unwrittenRefusals += Int64(records.count)
            return records.map { _ in .refused("the buffer '\(path)' failed: \(error)") }
        }
    }

    private func appendInTransaction(_ records: [IncomingRecord], now: Int64) throws -> [AppendOutcome] {
        let values = try meta()
        var sequence = values["next_seq"] ?? 1
        let epoch = values["epoch"] ?? 0
        var rows = values["rows"] ?? 0
        var bytes = values["bytes"] ?? 0
        let startRows = rows
        let startBytes = bytes
        var delta = BufferCounters()
        delta.refused = unwrittenRefusals
        var outcomes: [AppendOutcome] = []
        var sweptExpired = false

        for record in records {
            guard let stream = streams[record.stream] else {
                delta.refused += 1
                outcomes.append(.refused("stream '\(record.stream)' is not configured"))
                continue
            }
            let size = Int64(record.payload.count)
            guard size <= limits.maxBytes else {
                delta.refused += 1
                outcomes.append(.refused("a record of \(size) bytes exceeds the buffer's maxBytes \(limits.maxBytes)"))
                continue
            }
            if (rows + 1 > limits.maxRows || bytes + size > limits.maxBytes) && !sweptExpired {
                sweptExpired = true
                let (count, freed) = try deleteExpired(now: now)
                delta.expired += count
                rows -= count
                bytes -= freed
            }
            var fits = true
            while rows + 1 > limits.maxRows || bytes + size > limits.maxBytes {
                let victim = try database.queryOne(
                    "SELECT id, size, priority FROM records WHERE priority <= ? ORDER BY priority, id LIMIT 1",
                    [.integer(Int64(stream.priority.rank))])
                guard let victim, let id = victim[0].int64 else {
                    fits = false
                    break
                }
                try database.run("DELETE FROM records WHERE id = ?", [.integer(id)])
                delta.addEviction(Priority(rank: Int(victim[2].int64 ?? 0)) ?? .bulk)
                rows -= 1
                bytes -= victim[1].int64 ?? 0
            }
            guard fits else {
                delta.refused += 1
                outcomes.append(
                    .refused("the buffer is full of records of higher priority than stream '\(stream.name)'"))
                continue
            }
            let captured = record.capturedMilliseconds ?? now
            let expires = captured + Int64(stream.ttl * 1000)
            try database.run(
                "INSERT INTO records (stream, priority, seq, epoch, captured_ms, expires_ms, size, payload) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(stream.name), .integer(Int64(stream.priority.rank)), .integer(sequence), .integer(epoch),
                    .integer(captured), .integer(expires), .integer(size), .blob(record.payload),
                ])
            outcomes.append(.accepted(sequence: sequence, epoch: epoch))
            delta.accepted += 1
            sequence += 1
            rows += 1
            bytes += size
        }
        try database.run("UPDATE meta SET value = ? WHERE key = 'next_seq'", [.integer(sequence)])
        try add(delta, rows: rows - startRows, bytes: bytes - startBytes)
        unwrittenRefusals = 0
        return outcomes
    }

    private func deleteExpired(now: Int64) throws -> (count: Int64, bytes: Int64) {
        let rows = try database.query("DELETE FROM records WHERE expires_ms <= ? RETURNING size", [.integer(now)])
        return (Int64(rows.count), rows.reduce(0) { $0 + ($1[0].int64 ?? 0) })
    }

    // MARK: - Delivery

    static func record(_ row: Row) -> BufferedRecord {
        BufferedRecord(
            id: row[0].int64 ?? 0, stream: row[1].string ?? "", sequence: row[2].int64 ?? 0,
            epoch: row[3].int64 ?? 0, capturedMilliseconds: row[4].int64 ?? 0,
            expiresMilliseconds: row[5].int64 ?? 0, payload: row[6].bytes ?? [])
    }

    /// Up to `limit` unexpired records with an id above `after` that are not awaiting a receipt, oldest first.
    public func pending(after: Int64, limit: Int, now: Int64) throws(AgentError) -> [BufferedRecord] {
        do {
            return try database.query(
                "SELECT id, stream, seq, epoch, captured_ms, expires_ms, payload FROM records "
                    + "WHERE id > ? AND expires_ms > ? AND acked_ms IS NULL ORDER BY id LIMIT ?",
                [.integer(after), .integer(now), .integer(Int64(limit))]
            ).map(Self.record)
        } catch {
            throw AgentError("cannot read the buffer '\(path)': \(error)")
        }
    }

    /// Settles acknowledgements in one transaction: delivered rows are deleted; rejected rows move to the
    /// rejected table with their reason code. Also removes expired rows, counting them.
    public func settle(delivered: [Int64], rejected: [(id: Int64, reason: Int)], now: Int64) throws(AgentError) {
        try settle(Settlement(delivered: delivered, rejected: rejected), now: now)
    }

    /// Settles `settlement` in one transaction; also removes expired rows, counting them.
    public func settle(_ settlement: Settlement, now: Int64) throws(AgentError) {
        do {
            try database.transaction { try settleInTransaction(settlement, now: now) }
        } catch {
            throw AgentError("cannot update the buffer '\(path)': \(error)")
        }
    }

    /// Appends `records` and settles acknowledgements in one transaction: one commit (one fsync with
    /// `power` durability) for a whole round of the agent's loop. With a full disk the appends are refused
    /// and the settlement, which frees space, is retried alone.
    public func apply(
        append records: [IncomingRecord], delivered: [Int64], rejected: [(id: Int64, reason: Int)], now: Int64
    ) throws(AgentError) -> [AppendOutcome] {
        try apply(append: records, settlement: Settlement(delivered: delivered, rejected: rejected), now: now)
    }

    /// Appends `records` and settles `settlement` (acknowledgements and receipts) in one transaction.
    public func apply(append records: [IncomingRecord], settlement: Settlement, now: Int64) throws(AgentError)
        -> [AppendOutcome]
    {
        do {
            return try database.transaction {
                let outcomes = records.isEmpty ? [] : try appendInTransaction(records, now: now)
                try settleInTransaction(settlement, now: now)
                return outcomes
            }
        } catch let error as StoreError where error.isFull && !records.isEmpty {
            unwrittenRefusals += Int64(records.count)
            try settle(settlement, now: now)
            return records.map { _ in .refused("the disk holding '\(path)' is full") }
        } catch {
            throw AgentError("cannot update the buffer '\(path)': \(error)")
        }
    }

    private func settleInTransaction(_ settlement: Settlement, now: Int64) throws {
        var delta = BufferCounters()
        var rows: Int64 = 0
        var bytes: Int64 = 0
        // One statement per 500 acknowledgements: the ids travel as a JSON array.
        for list in Self.jsonLists(settlement.delivered) {
            let sizes = try database.query(
                "DELETE FROM records WHERE id IN (SELECT value FROM json_each(?)) RETURNING size", [.text(list)])
            delta.delivered += Int64(sizes.count)
            rows -= Int64(sizes.count)
            bytes -= sizes.reduce(0) { $0 + ($1[0].int64 ?? 0) }
        }
        for list in Self.jsonLists(settlement.acknowledged) {
            try database.run(
                "UPDATE records SET acked_ms = ? WHERE id IN (SELECT value FROM json_each(?))",
                [.integer(now), .text(list)])
        }
        // A receipt confirms whatever row holds the key, awaiting or not: the consumer has it.
        for receipt in settlement.receipts {
            for range in receipt.ranges {
                let sizes = try database.query(
                    "DELETE FROM records WHERE seq BETWEEN ? AND ? AND epoch = ? RETURNING size",
                    [.integer(range.lowerBound), .integer(range.upperBound), .integer(receipt.epoch)])
                delta.delivered += Int64(sizes.count)
                rows -= Int64(sizes.count)
                bytes -= sizes.reduce(0) { $0 + ($1[0].int64 ?? 0) }
            }
        }
        for (id, reason) in settlement.rejected {
            try database.run(
                "INSERT OR REPLACE INTO rejected (id, stream, seq, epoch, captured_ms, reason, rejected_ms, payload) "
                    + "SELECT id, stream, seq, epoch, captured_ms, ?, ?, payload FROM records WHERE id = ?",
                [.integer(Int64(reason)), .integer(now), .integer(id)])
            for row in try database.query("DELETE FROM records WHERE id = ? RETURNING size", [.integer(id)]) {
                delta.rejected += 1
                rows -= 1
                bytes -= row[0].int64 ?? 0
            }
        }
        let (expired, freed) = try deleteExpired(now: now)
        delta.expired = expired
        rows -= expired
        bytes -= freed
        delta.refused = unwrittenRefusals
        try add(delta, rows: rows, bytes: bytes)
        unwrittenRefusals = 0
    }

    private static func jsonLists(_ ids: [Int64]) -> [String] {
        stride(from: 0, to: ids.count, by: 500).map { start in
            "[" + ids[start..<min(start + 500, ids.count)].map(String.init).joined(separator: ",") + "]"
        }
    }

    /// Up to `limit` unexpired records the broker acknowledged at or before `acknowledgedBefore` whose receipt
    /// has not come, oldest first: they are due to be sent again.
    public func overdue(acknowledgedBefore: Int64, limit: Int, now: Int64) throws(AgentError) -> [BufferedRecord] {
        do {
            return try database.query(
                "SELECT id, stream, seq, epoch, captured_ms, expires_ms, payload FROM records "
                    + "WHERE acked_ms IS NOT NULL AND acked_ms <= ? AND expires_ms > ? ORDER BY id LIMIT ?",
                [.integer(acknowledgedBefore), .integer(now), .integer(Int64(limit))]
            ).map(Self.record)
        } catch {
            throw AgentError("cannot read the buffer '\(path)': \(error)")
        }
    }

    /// Makes every record awaiting a receipt pending again, so that a new connection sends it again; returns
    /// how many there were.
    @discardableResult
    public func resendAwaiting() throws(AgentError) -> Int {
        do {
            return try database.transaction {
                try database.run("UPDATE records SET acked_ms = NULL WHERE acked_ms IS NOT NULL")
                return database.changes
            }
        } catch {
            throw AgentError("cannot update the buffer '\(path)': \(error)")
        }
    }

    // MARK: - Reading the state

    /// The buffer's totals and counters now.
    public func snapshot(now: Int64) throws(AgentError) -> BufferSnapshot {
        do {
            let values = try meta()
            let oldest = try database.queryOne("SELECT captured_ms FROM records ORDER BY id LIMIT 1")?[0].int64
            let setAside = try database.queryOne("SELECT value FROM notes WHERE key = 'set_aside'")?[0].string
            let awaiting = try database.queryOne("SELECT count(*) FROM records WHERE acked_ms IS NOT NULL")
            var counters = counters(values)
            counters.refused += unwrittenRefusals
            return BufferSnapshot(
                rows: values["rows"] ?? 0, bytes: values["bytes"] ?? 0,
                oldestAgeSeconds: oldest.map { max(0, Double(now - $0) / 1000) }, counters: counters,
                epoch: values["epoch"] ?? 0, nextSequence: values["next_seq"] ?? 1, setAsidePath: setAside,
                awaitingReceipt: awaiting?[0].int64 ?? 0)
        } catch {
            throw AgentError("cannot read the buffer '\(path)': \(error)")
        }
    }

    /// The rejected records: (stream, sequence, reason code).
    public func rejectedRecords() throws(AgentError) -> [(stream: String, sequence: Int64, reason: Int)] {
        do {
            return try database.query("SELECT stream, seq, reason FROM rejected ORDER BY id").map {
                ($0[0].string ?? "", $0[1].int64 ?? 0, Int($0[2].int64 ?? 0))
            }
        } catch {
            throw AgentError("cannot read the buffer '\(path)': \(error)")
        }
    }

    /// Counts rows and bytes from the records themselves (a check that the totals kept in meta are right).
    public func recount() throws(AgentError) -> (rows: Int64, bytes: Int64) {
        do {
            let row = try database.queryOne("SELECT count(*), coalesce(sum(size), 0) FROM records")
            return (row?[0].int64 ?? 0, row?[1].int64 ?? 0)
        } catch {
            throw AgentError("cannot read the buffer '\(path)': \(error)")
        }
    }

    /// Checkpoints the WAL into the main file; used at a clean shutdown.
    public func close() {
        try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}

/// The buffer's state at one moment, as the status message and `fleet-agent status` report it.
public struct BufferSnapshot: Sendable, Codable, Equatable {
    /// Records held.
    public var rows: Int64
    /// Payload bytes held.
    public var bytes: Int64
    /// Age of the oldest record held.
    public var oldestAgeSeconds: Double?
    /// What became of records.
    public var counters: BufferCounters
    /// The current boot epoch.
    public var epoch: Int64
    /// The next sequence number.
    public var nextSequence: Int64
    /// Where the last damaged file went.
    public var setAsidePath: String?
    /// Records the broker acknowledged that wait for the consumer's receipt (part of `rows`).
    public var awaitingReceipt: Int64 = 0
}

/// Milliseconds since 1970 now.
func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
