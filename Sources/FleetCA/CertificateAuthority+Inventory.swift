import Foundation
import PKI
import Store

/// Which certificates `certificates(matching:)` returns.
public struct CertificateFilter: Sendable {
    /// Only certificates in this state (as of now); nil means every state but superseded.
    public var state: CertificateState?
    /// Only certificates of devices in this group.
    public var group: String?
    /// Only active certificates whose notAfter falls within this many seconds from now.
    public var expiringWithinSeconds: Int64?
    /// Only this kind of subject; nil means all.
    public var kind: SubjectKind?

    public init(
        state: CertificateState? = nil, group: String? = nil, expiringWithinSeconds: Int64? = nil,
        kind: SubjectKind? = nil
    ) {
        self.state = state
        self.group = group
        self.expiringWithinSeconds = expiringWithinSeconds
        self.kind = kind
    }
}

extension CertificateAuthority {
    /// One device with its groups, attributes, state and certificates (newest first), or nil.
    public func device(id: String, now: Date = Date()) throws -> DeviceRecord? {
        guard let row = try database.queryOne("SELECT id, created_at FROM devices WHERE id = ?", [.text(id)]) else {
            return nil
        }
        return try makeDevice(row, now: now)
    }

    /// Every device (optionally only those in `group`), sorted by id.
    public func devices(group: String? = nil, now: Date = Date()) throws -> [DeviceRecord] {
        let rows: [Row]
        if let group {
            rows = try database.query(
                "SELECT d.id, d.created_at FROM devices d JOIN device_groups g ON g.device_id = d.id "
                    + "WHERE g.name = ? ORDER BY d.id", [.text(group)])
        } else {
            rows = try database.query("SELECT id, created_at FROM devices ORDER BY id")
        }
        return try rows.map { try makeDevice($0, now: now) }
    }

    /// One service identity, or nil.
    public func service(name: String, now: Date = Date()) throws -> ServiceRecord? {
        guard let row = try database.queryOne("SELECT name, created_at FROM services WHERE name = ?", [.text(name)])
        else {
            return nil
        }
        let certificates = try certificates(kind: .service, subject: name, now: now)
        return ServiceRecord(
            name: name, createdAt: date(row["created_at"]), state: certificates.first?.state,
            certificates: certificates)
    }

    /// Every service identity, sorted by name.
    public func services(now: Date = Date()) throws -> [ServiceRecord] {
        try database.query("SELECT name FROM services ORDER BY name").compactMap {
            try service(name: $0["name"].string ?? "", now: now)
        }
    }

    /// One certificate by serial (lowercase hex), or nil.
    public func certificate(serial: String, now: Date = Date()) throws -> CertificateRecord? {
        try database.queryOne("SELECT * FROM certificates WHERE serial = ?", [.text(serial.lowercased())])
            .map { makeCertificate($0, now: now) }
    }

    /// Certificates matching `filter`, newest first.
    public func certificates(matching filter: CertificateFilter, now: Date = Date()) throws -> [CertificateRecord] {
        var sql = "SELECT c.* FROM certificates c"
        var values: [SQLValue] = []
        var conditions: [String] = []
        if let group = filter.group {
            sql += " JOIN device_groups g ON g.device_id = c.subject AND c.subject_kind = 'device'"
            conditions.append("g.name = ?")
            values.append(.text(group))
        }
        if let kind = filter.kind {
            conditions.append("c.subject_kind = ?")
            values.append(.text(kind.rawValue))
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY c.issued_at DESC, c.rowid DESC"
        let limit = filter.expiringWithinSeconds.map { now.addingTimeInterval(TimeInterval($0)) }
        return try database.query(sql, values).map { makeCertificate($0, now: now) }.filter { record in
            if let limit, !(record.state == .active && record.notAfter <= limit) { return false }
            if let state = filter.state { return record.state == state }
            return filter.expiringWithinSeconds != nil || record.state != .superseded
        }
    }

    /// Audit records at or after `since` (all when nil), oldest first.
    public func auditRecords(since: Date? = nil) throws -> [AuditRecord] {
        let start = Int64((since ?? .distantPast).timeIntervalSince1970)
        return try database.query("SELECT * FROM audit WHERE at >= ? ORDER BY seq", [.integer(start)]).map { row in
            AuditRecord(
                sequence: row["seq"].int64 ?? 0, at: date(row["at"]), actor: row["actor"].string ?? "",
                action: row["action"].string ?? "", subject: row["subject"].string ?? "",
                details: row["details"].string ?? "", previousHash: row["prev_hash"].string ?? "",
                hash: row["hash"].string ?? "")
        }
    }

    /// Checks the audit chain and the database file; returns one sentence per problem (empty when intact).
    public func verifyAudit() throws -> [String] {
        var problems: [String] = []
        if let damage = database.integrityProblem() { problems.append("the inventory file is damaged: \(damage)") }
        problems += try audit.verify()
        return problems
    }

    private func makeDevice(_ row: Row, now: Date) throws -> DeviceRecord {
        let id = row["id"].string ?? ""
        let groups = try database.query("SELECT name FROM device_groups WHERE device_id = ? ORDER BY name", [.text(id)])
            .compactMap { $0["name"].string }
        var attributes: [String: String] = [:]
        for attribute in try database.query("SELECT key, value FROM device_attributes WHERE device_id = ?", [.text(id)])
        {
            attributes[attribute["key"].string ?? ""] = attribute["value"].string ?? ""
        }
        let certificates = try certificates(kind: .device, subject: id, now: now)
        return DeviceRecord(
            id: id, groups: groups, attributes: attributes, createdAt: date(row["created_at"]),
            state: certificates.first?.state, certificates: certificates)
    }

    private func certificates(kind: SubjectKind, subject: String, now: Date) throws -> [CertificateRecord] {
        try database.query(
            "SELECT * FROM certificates WHERE subject_kind = ? AND subject = ? ORDER BY issued_at DESC, rowid DESC",
            [.text(kind.rawValue), .text(subject)]
        ).map { makeCertificate($0, now: now) }
    }

    private func makeCertificate(_ row: Row, now: Date) -> CertificateRecord {
        let notAfter = date(row["not_after"])
        var state = CertificateState(rawValue: row["state"].string ?? "") ?? .active
        if (state == .active || state == .superseded) && notAfter <= now { state = .expired }
        return CertificateRecord(
            serial: row["serial"].string ?? "",
            subjectKind: SubjectKind(rawValue: row["subject_kind"].string ?? "") ?? .device,
            subject: row["subject"].string ?? "", state: state, notBefore: date(row["not_before"]), notAfter: notAfter,
            issuedAt: date(row["issued_at"]), fingerprintSHA256: row["fingerprint"].string ?? "",
            keyType: row["key_type"].string ?? "", keyGeneratedByCA: row["key_generated"].int64 == 1,
            revokedAt: row["revoked_at"].int64.map { Date(timeIntervalSince1970: TimeInterval($0)) },
            revocationReason: row["revocation_reason"].string.flatMap(RevocationReason.init(rawValue:)),
            pem: row["pem"].string ?? "")
    }

    private func date(_ value: SQLValue) -> Date { Date(timeIntervalSince1970: TimeInterval(value.int64 ?? 0)) }
}
