import Foundation
import PKI
import Store

/// The append-only, hash-chained audit log inside the inventory.
///
/// Each record's hash covers its own fields and the hash of the record before it, and the newest
/// sequence and hash are also kept in `meta.audit_head`, so editing, removing or reordering a record
/// (even the newest) breaks the chain that `verify` walks. Appends happen inside the caller's
/// `BEGIN IMMEDIATE` transaction, so two processes never fork the chain.
struct AuditLog {
    let database: Database
    let actor: String

    /// The chain's head before the next append: sequence and hash.
    struct Head {
        var sequence: Int64
        var hash: String
    }

    static let genesisHash = String(repeating: "0", count: 64)

    /// Reads the current head; call inside a transaction.
    func head() throws -> Head {
        guard let row = try database.queryOne("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") else {
            return Head(sequence: 0, hash: AuditLog.genesisHash)
        }
        return Head(sequence: row["seq"].int64 ?? 0, hash: row["hash"].string ?? "")
    }

    /// Appends one record after `head` and advances it; call inside a transaction.
    func append(action: String, subject: String, details: [String: String], at date: Date, head: inout Head) throws {
        let sequence = head.sequence + 1
        let at = Int64(date.timeIntervalSince1970)
        let detailText = AuditLog.encode(details)
        let hash = AuditLog.hash(
            sequence: sequence, at: at, actor: actor, action: action, subject: subject,
            details: detailText, previousHash: head.hash)
        try database.run(
            "INSERT INTO audit(seq, at, actor, action, subject, details, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?)",
            [
                .integer(sequence), .integer(at), .text(actor), .text(action), .text(subject), .text(detailText),
                .text(head.hash), .text(hash),
            ])
        head = Head(sequence: sequence, hash: hash)
    }

    /// Records the head in `meta` after the last append of a transaction.
    func storeHead(_ head: Head) throws {
        try database.run(
            "INSERT INTO meta(key, value) VALUES('audit_head', ?) "
                + "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [.text("\(head.sequence):\(head.hash)")])
    }

    /// Appends one record in its own position and stores the head; call inside a transaction.
    func record(action: String, subject: String, details: [String: String], at date: Date) throws {
        var current = try head()
        try append(action: action, subject: subject, details: details, at: date, head: &current)
        try storeHead(current)
    }

    /// Walks the whole chain; returns one sentence per problem found (empty when intact).
    func verify() throws -> [String] {
        var problems: [String] = []
        var expected = Head(sequence: 0, hash: AuditLog.genesisHash)
        let rows = try database.query(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit ORDER BY seq")
        for row in rows {
            let sequence = row["seq"].int64 ?? -1
            if sequence != expected.sequence + 1 {
                problems.append("audit record \(expected.sequence + 1) is missing (next present is \(sequence))")
            }
            let previous = row["prev_hash"].string ?? ""
            if previous != expected.hash {
                problems.append(
                    "audit record \(sequence) does not follow the record before it (its previous-hash differs)")
            }
            let recomputed = AuditLog.hash(
                sequence: sequence, at: row["at"].int64 ?? 0, actor: row["actor"].string ?? "",
                action: row["action"].string ?? "", subject: row["subject"].string ?? "",
                details: row["details"].string ?? "", previousHash: previous)
            if recomputed != row["hash"].string {
                problems.append(
                    "audit record \(sequence) (\(row["action"].string ?? "?") \(row["subject"].string ?? "?")) "
                        + "was altered: its contents no longer match its hash")
            }
            expected = Head(sequence: sequence, hash: row["hash"].string ?? "")
        }
        let stored = try database.queryOne("SELECT value FROM meta WHERE key = 'audit_head'")?["value"].string
        let actual = "\(expected.sequence):\(expected.hash)"
        if let stored, stored != actual {
            problems.append(
                "the audit log ends at record \(expected.sequence) but its recorded head is \(stored.prefix(24))...; "
                    + "records were removed or replaced")
        } else if stored == nil && expected.sequence > 0 {
            problems.append("the audit log's recorded head is missing")
        }
        return problems
    }

    static func hash(
        sequence: Int64, at: Int64, actor: String, action: String, subject: String, details: String,
        previousHash: String
    ) -> String {
        let fields = [String(sequence), String(at), actor, action, subject, details, previousHash]
        // Length-prefixing each field makes the encoding unambiguous whatever the fields contain.
        return Digest.sha256Hex(fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|"))
    }

    /// The details as a JSON object with sorted keys. Written by hand because JSONEncoder cost more per
    /// issuance than the inventory insert it describes.
    static func encode(_ details: [String: String]) -> String {
        var text = "{"
        for (index, key) in details.keys.sorted().enumerated() {
            if index > 0 { text += "," }
            text += quote(key) + ":" + quote(details[key] ?? "")
        }
        return text + "}"
    }

    private static func quote(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }
}
