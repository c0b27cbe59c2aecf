import Foundation
import PKI
import Store

extension CertificateAuthority {
    /// Revokes every unexpired active or superseded certificate of a device, its recovery credential
    /// included (or, when no device has that id, of the service of that name), records the reason, and
    /// re-signs the CRL.
    @discardableResult
    public func revoke(id: String, reason: RevocationReason = .unspecified, now: Date = Date()) throws
        -> [CertificateRecord]
    {
        try IdentityName.validate(id)
        return try database.transaction {
            try markExpired(now: now)
            let kind: SubjectKind
            if try database.queryOne("SELECT 1 FROM devices WHERE id = ?", [.text(id)]) != nil {
                kind = .device
            } else if try database.queryOne("SELECT 1 FROM services WHERE name = ?", [.text(id)]) != nil {
                kind = .service
            } else {
                throw FleetCAError(.notFound, "no device or service '\(id)' in the inventory")
            }
            // A device's recovery credential (subject `recovery~<id>`) goes with it.
            let rows = try database.query(
                "SELECT serial FROM certificates WHERE subject_kind = ? AND subject IN (?, ?) "
                    + "AND state IN ('active', 'superseded')",
                [.text(kind.rawValue), .text(id), .text(kind == .device ? Self.recoveryIdentity(for: id) : id)])
            guard !rows.isEmpty else {
                throw FleetCAError(.notFound, "\(kind.rawValue) '\(id)' has no certificate left to revoke")
            }
            return try markRevoked(serials: rows.compactMap { $0["serial"].string }, reason: reason, now: now)
        }
    }

    /// Revokes one certificate by serial.
    @discardableResult
    public func revoke(serial: SerialNumber, reason: RevocationReason = .unspecified, now: Date = Date()) throws
        -> CertificateRecord
    {
        try database.transaction {
            try markExpired(now: now)
            guard
                let row = try database.queryOne("SELECT state FROM certificates WHERE serial = ?", [.text(serial.hex)])
            else {
                throw FleetCAError(.notFound, "no certificate with serial \(serial.hex) was issued by this CA")
            }
            let state = row["state"].string ?? ""
            guard state == "active" || state == "superseded" else {
                throw FleetCAError.invalid(
                    "the certificate with serial \(serial.hex) is \(state); there is nothing to revoke")
            }
            return try markRevoked(serials: [serial.hex], reason: reason, now: now)[0]
        }
    }

    /// Revokes the certificate given in full (PEM). A foreign certificate, including one with a zero or
    /// negative serial, is refused with the reason; it never reaches the CRL.
    @discardableResult
    public func revoke(certificate: Certificate, reason: RevocationReason = .unspecified, now: Date = Date()) throws
        -> CertificateRecord
    {
        let serial: SerialNumber
        do { serial = try certificate.serialNumber } catch { throw FleetCAError.invalid("\(error.message)") }
        guard certificate.isIssued(by: issuingCertificate) else {
            throw FleetCAError.invalid(
                "the certificate '\(certificate.subject)' (serial \(serial.hex)) was not issued by "
                    + "this CA's issuing certificate")
        }
        guard let stored = try self.certificate(serial: serial.hex),
            stored.fingerprintSHA256 == certificate.fingerprintSHA256
        else {
            throw FleetCAError(.notFound, "the certificate with serial \(serial.hex) is not in this CA's inventory")
        }
        return try revoke(serial: serial, reason: reason, now: now)
    }

    /// The serials (lowercase hex) of revoked certificates that have not expired yet: what the CRL lists.
    public func revokedSerials(now: Date = Date()) throws -> [String] {
        try database.query(
            "SELECT serial FROM certificates WHERE state = 'revoked' AND not_after > ? ORDER BY serial",
            [.integer(Int64(now.timeIntervalSince1970))]
        ).compactMap { $0["serial"].string }
    }

    /// The current CRL, re-signed first when it is past half its lifetime (or missing); `crl.pem`
    /// in the home folder is kept equal to it.
    public func currentCRL(now: Date = Date()) throws -> RevocationList {
        if let stored = try storedCRL(), !isDue(stored, now: now) {
            if (try? String(contentsOfFile: home.crlPath, encoding: .utf8)) != stored.pem {
                try SecureFile.write(stored.pem, to: home.crlPath, mode: 0o644)
            }
            return try RevocationList(pem: stored.pem)
        }
        return try database.transaction {
            // Another process may have re-signed it while this one waited for the lock.
            if let stored = try storedCRL(), !isDue(stored, now: now) { return try RevocationList(pem: stored.pem) }
            return try signCRL(now: now)
        }
    }

    /// The current CRL as PEM (see `currentCRL`).
    public func currentCRLPEM(now: Date = Date()) throws -> String { try currentCRL(now: now).pem }

    /// Signs a new CRL with the next CRL number and stores it in the inventory and `crl.pem`; call inside
    /// a transaction. Certificates past their notAfter are left out.
    func signCRL(now: Date) throws -> RevocationList {
        try markExpired(now: now)
        let number = (try database.queryOne("SELECT number FROM crl_state WHERE id = 1")?["number"].int64 ?? 0) + 1
        let rows = try database.query(
            "SELECT serial, revoked_at, revocation_reason FROM certificates WHERE state = 'revoked' AND not_after > ?",
            [.integer(Int64(now.timeIntervalSince1970))])
        var entries: [RevocationList.Entry] = []
        entries.reserveCapacity(rows.count)
        for row in rows {
            entries.append(
                RevocationList.Entry(
                    serial: try SerialNumber(hex: row["serial"].string ?? ""),
                    revokedAt: Date(timeIntervalSince1970: TimeInterval(row["revoked_at"].int64 ?? 0)),
                    reason: RevocationReason(rawValue: row["revocation_reason"].string ?? "") ?? .unspecified))
        }
        let nextUpdate = now.addingTimeInterval(TimeInterval(configuration.crlLifetimeSeconds))
        let list = try RevocationList.build(
            issuer: issuingCertificate, issuerKey: issuingKey(), number: number,
            thisUpdate: now, nextUpdate: min(nextUpdate, issuingCertificate.notAfter),
            entries: entries)
        let pem = try list.pem
        try database.run(
            "INSERT INTO crl_state(id, number, this_update, next_update, pem) VALUES(1, ?, ?, ?, ?) "
                + "ON CONFLICT(id) DO UPDATE SET number = excluded.number, this_update = excluded.this_update, "
                + "next_update = excluded.next_update, pem = excluded.pem",
            [
                .integer(number), .integer(Int64(now.timeIntervalSince1970)),
                .integer(Int64(list.nextUpdate.timeIntervalSince1970)), .text(pem),
            ])
        try audit.record(
            action: "crl.sign", subject: "crl",
            details: [
                "number": String(number), "entries": String(entries.count),
                "nextUpdate": String(Int64(list.nextUpdate.timeIntervalSince1970)),
            ], at: now)
        // Written while this transaction holds the write lock, so two processes never swap an older CRL in.
        try SecureFile.write(pem, to: home.crlPath, mode: 0o644)
        return list
    }

    private struct StoredCRL {
        let thisUpdate: Int64
        let nextUpdate: Int64
        let pem: String
    }

    private func storedCRL() throws -> StoredCRL? {
        guard let row = try database.queryOne("SELECT this_update, next_update, pem FROM crl_state WHERE id = 1") else {
            return nil
        }
        return StoredCRL(
            thisUpdate: row["this_update"].int64 ?? 0, nextUpdate: row["next_update"].int64 ?? 0,
            pem: row["pem"].string ?? "")
    }

    private func isDue(_ stored: StoredCRL, now: Date) -> Bool {
        let halfway = stored.thisUpdate + (stored.nextUpdate - stored.thisUpdate) / 2
        return Int64(now.timeIntervalSince1970) >= halfway
    }

    /// Marks the certificates revoked with one audit record each, then re-signs the CRL; call inside a
    /// transaction.
    private func markRevoked(serials: [String], reason: RevocationReason, now: Date) throws -> [CertificateRecord] {
        var head = try audit.head()
        var revoked: [CertificateRecord] = []
        for serial in serials {
            try database.run(
                "UPDATE certificates SET state = 'revoked', revoked_at = ?, revocation_reason = ? WHERE serial = ?",
                [.integer(Int64(now.timeIntervalSince1970)), .text(reason.rawValue), .text(serial)])
            guard let record = try certificate(serial: serial) else {
                throw FleetCAError(.notFound, "no certificate with serial \(serial)")
            }
            try audit.append(
                action: "certificate.revoke", subject: record.subject,
                details: ["serial": serial, "reason": reason.rawValue, "kind": record.subjectKind.rawValue],
                at: now, head: &head)
            revoked.append(record)
        }
        try audit.storeHead(head)
        _ = try signCRL(now: now)
        return revoked
    }
}
