import Store

/// The reference consumer's SQLite store: one row per (device, boot epoch, sequence). A message whose
/// key is already stored is a duplicate: it is counted per device and dropped.
public final class IngestStore {
    private let database: Database

    static let migrations = [
        """
        CREATE TABLE received (
            device TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL,
            topic TEXT NOT NULL, captured_ms INTEGER, received_ms INTEGER NOT NULL, payload BLOB NOT NULL,
            PRIMARY KEY (device, epoch, seq)) WITHOUT ROWID;
        CREATE TABLE devices (device TEXT PRIMARY KEY, duplicates INTEGER NOT NULL DEFAULT 0,
            unkeyed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        """
    ]

    /// Opens (creating) the store at `path`.
    public init(path: String) throws(StoreError) {
        database = try Database(path: path, durability: .process)
        do {
            try database.migrate(Self.migrations)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: 0, message: "cannot prepare '\(path)': \(error)")
        }
    }

    /// What `store` did with one message.
    public enum Outcome: Sendable, Equatable {
        case stored
        case duplicate
        /// The message lacked the seq/epoch user properties; counted, not stored.
        case unkeyed
    }

    /// Stores one telemetry message, committing before it returns (so the PUBACK follows the commit).
    public func store(
        device: String, epoch: Int64?, sequence: Int64?, stream: String, topic: String, captured: Int64?,
        receivedMilliseconds: Int64, payload: [UInt8]
    ) throws -> Outcome {
        try database.transaction {
            try database.run("INSERT OR IGNORE INTO devices (device) VALUES (?)", [.text(device)])
            guard let epoch, let sequence else {
                try database.run("UPDATE devices SET unkeyed = unkeyed + 1 WHERE device = ?", [.text(device)])
                return .unkeyed
            }
            try database.run(
                "INSERT OR IGNORE INTO received (device, epoch, seq, stream, topic, captured_ms, received_ms, payload) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(device), .integer(epoch), .integer(sequence), .text(stream), .text(topic),
                    captured.map { .integer($0) } ?? .null, .integer(receivedMilliseconds), .blob(payload),
                ])
            if database.changes == 0 {
                try database.run("UPDATE devices SET duplicates = duplicates + 1 WHERE device = ?", [.text(device)])
                return .duplicate
            }
            return .stored
        }
    }

    /// Per device: received, duplicates dropped, and the missing sequence ranges.
    public func report() throws -> [DeviceReport] {
        var reports: [DeviceReport] = []
        for row in try database.query("SELECT device, duplicates, unkeyed FROM devices ORDER BY device") {
            let device = row[0].string ?? ""
            let keys = try database.query(
                "SELECT epoch, seq FROM received WHERE device = ? ORDER BY epoch, seq",
                [.text(device)])
            var missing: [ClosedRange<Int64>] = []
            var previous: Int64?
            for key in keys {
                let sequence = key[1].int64 ?? 0
                // Sequence numbers continue across boot epochs; one that goes back means a new buffer file.
                if let previous, sequence > previous + 1 { missing.append((previous + 1)...(sequence - 1)) }
                previous = sequence
            }
            let epochs = Set(keys.compactMap { $0[0].int64 }).count
            reports.append(
                DeviceReport(
                    device: device, received: keys.count, duplicates: Int(row[1].int64 ?? 0),
                    unkeyed: Int(row[2].int64 ?? 0), epochs: epochs, firstSequence: keys.first?[1].int64,
                    lastSequence: keys.last?[1].int64, missing: missing))
        }
        return reports
    }

    /// Whether (device, epoch, seq) is stored.
    public func contains(device: String, sequence: Int64) throws -> Bool {
        try database.queryOne(
            "SELECT 1 FROM received WHERE device = ? AND seq = ?", [.text(device), .integer(sequence)])
            != nil
    }

    /// The payloads stored for `device`, in (epoch, seq) order.
    public func payloads(device: String) throws -> [(sequence: Int64, payload: [UInt8])] {
        try database.query("SELECT seq, payload FROM received WHERE device = ? ORDER BY epoch, seq", [.text(device)])
            .map { ($0[0].int64 ?? 0, $0[1].bytes ?? []) }
    }
}

/// One device's line in the ingest report.
public struct DeviceReport: Sendable, Codable, Equatable {
    /// The device id (from the topic).
    public var device: String
    /// Distinct records stored.
    public var received: Int
    /// Copies dropped because their (epoch, seq) was already stored.
    public var duplicates: Int
    /// Messages without seq/epoch user properties.
    public var unkeyed: Int
    /// Boot epochs seen.
    public var epochs: Int
    /// The lowest sequence number stored.
    public var firstSequence: Int64?
    /// The highest sequence number stored.
    public var lastSequence: Int64?
    /// Sequence numbers never received between the first and the last.
    public var missing: [ClosedRange<Int64>]

    /// How many sequence numbers the missing ranges cover.
    public var missingCount: Int64 { missing.reduce(0) { $0 + $1.upperBound - $1.lowerBound + 1 } }
}
