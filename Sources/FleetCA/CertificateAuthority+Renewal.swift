import Foundation
import PKI
import Store

/// A device's renewal request (docs/renewal.md), as the CA service receives it.
public struct RenewalRequest: Codable, Sendable, Equatable {
    /// `renew` (default) asks for a new certificate; `confirm` tells the CA the device now uses its newest one.
    public var type: String?
    /// PEM CSR for the new key (absent in a confirmation).
    public var csr: String?
    /// PEM of the certificate whose key signed this request.
    public var certificate: String
    /// 16 random bytes, base64.
    public var nonce: String
    /// Unix seconds when the device made the request.
    public var timestamp: Int64
    /// base64 signature by the certificate's key over `signedText`.
    public var signature: String

    public init(
        type: String? = nil, csr: String?, certificate: String, nonce: String, timestamp: Int64, signature: String
    ) {
        self.type = type
        self.csr = csr
        self.certificate = certificate
        self.nonce = nonce
        self.timestamp = timestamp
        self.signature = signature
    }

    /// The bytes the signature covers: `fleet-renewal-v1\n<device>\n<type>\n<nonce>\n<timestamp>\n<csr>`.
    public static func signedText(
        device: String, type: String, nonce: String, timestamp: Int64, csr: String
    ) -> [UInt8] {
        Array("fleet-renewal-v1\n\(device)\n\(type)\n\(nonce)\n\(timestamp)\n\(csr)".utf8)
    }
}

/// What the CA decided about one renewal request.
public enum RenewalDecision: Sendable {
    /// A new certificate; the presented one is now superseded.
    case issued(IssuedCredential)
    /// A confirmation was accepted; `retired` lists the superseded serials that were revoked (if configured).
    case confirmed(retired: [String])
    /// Refused, with a sentence for the operator; `reprovision` is true when only a new provisioning helps.
    case refused(reason: String, reprovision: Bool)
}

/// One `fleetctl rotate --online` order waiting for (or sent by) `fleetctl serve`.
public struct RotationOrder: Sendable, Equatable {
    public let id: Int64
    public let device: String
    public let requestedAt: Date
    public let sentAt: Date?
}

extension CertificateAuthority {
    /// The MQTT identity (certificate CN) of a device's recovery credential: outside the device-id charset,
    /// so it can never be the name of a device.
    public static func recoveryIdentity(for deviceID: String) -> String { "recovery~" + deviceID }

    /// The device a topic level names, and whether it is the recovery identity's level.
    public static func device(fromTopicLevel level: String) -> (device: String, recovery: Bool) {
        level.hasPrefix("recovery~") ? (String(level.dropFirst("recovery~".count)), true) : (level, false)
    }

    /// Issues the long-lived recovery credential of a device already in the inventory: key generated here,
    /// CN `recovery~<id>`, SAN URI `urn:fleet:recovery:<id>`, clientAuth. It is recorded as a device
    /// certificate of subject `recovery~<id>`; `revoke(id:)` revokes it with the device.
    public func issueRecoveryCredential(deviceID: String, now: Date = Date()) throws -> IssuedCredential {
        try IdentityName.validate(deviceID)
        let name = Self.recoveryIdentity(for: deviceID)
        let key = try PrivateKey.generate(.p256)
        let template = CertificateTemplate(
            commonName: name, profile: .client, uris: ["urn:fleet:recovery:\(deviceID)"],
            validitySeconds: configuration.renewal.recoveryValiditySeconds,
            issuerURL: configuration.issuerURL, crlURL: configuration.crlURL)
        var issuance = PendingIssuance(
            kind: .device, subject: name, template: template, publicKey: key.publicKey,
            generatedKey: key, groups: [], attributes: [:])
        let signer = try issuingKey()
        issuance.signedCertificate = try sign(issuance, key: signer, now: now)
        return try database.transaction {
            guard try database.queryOne("SELECT 1 FROM devices WHERE id = ?", [.text(deviceID)]) != nil else {
                throw FleetCAError(.notFound, "no device '\(deviceID)' in the inventory; provision it first")
            }
            _ = try supersede(kind: .device, subject: name)
            let record = try insertCertificate(&issuance, key: signer, now: now)
            try audit.record(
                action: "device.recovery.issue", subject: deviceID,
                details: ["serial": record.serial, "identity": name], at: now)
            return IssuedCredential(record: record, certificate: try issuance.certificate, privateKey: key)
        }
    }

    /// Decides one renewal request that arrived on the PKI topic of `topicDevice` (through the recovery
    /// identity's topic when `viaRecovery`). Every decision leaves one audit record with its reason.
    /// Throws only when the CA itself fails (storage, signing); refusals are decisions.
    public func renew(
        topicDevice: String, viaRecovery: Bool, request: RenewalRequest, now: Date = Date()
    ) throws -> RenewalDecision {
        let type = request.type ?? "renew"
        let checked: CheckedRequest
        switch try check(topicDevice: topicDevice, viaRecovery: viaRecovery, request: request, type: type, now: now) {
        case .success(let value): checked = value
        case .failure(let refusal):
            try audit.record(
                action: "renewal.refuse", subject: topicDevice,
                details: [
                    "reason": refusal.reason, "type": type, "via": viaRecovery ? "recovery" : "device",
                    "nonce": request.nonce,
                ], at: now)
            return .refused(reason: refusal.reason, reprovision: refusal.reprovision)
        }

        if type == "confirm" {
            let retired = try retireSuperseded(deviceID: topicDevice, now: now)
            try audit.record(
                action: "renewal.confirm", subject: topicDevice,
                details: ["serial": checked.record.serial, "retired": retired.joined(separator: ",")], at: now)
            return .confirmed(retired: retired)
        }

        // The device proved it holds the newest certificate's key, so anything older is retired now too.
        _ = try retireSuperseded(deviceID: topicDevice, now: now)
        // The new certificate gets the CA's device validity, as `fleetctl rotate` gives it.
        do {
            let issued = try rotate(
                deviceID: topicDevice, request: checked.request, now: now)
            try audit.record(
                action: "renewal.issue", subject: topicDevice,
                details: [
                    "serial": issued.record.serial, "previous": checked.record.serial,
                    "via": viaRecovery ? "recovery" : "device", "nonce": request.nonce,
                ], at: now)
            return .issued(issued)
        } catch let error as FleetCAError where error.kind == .invalidInput {
            try audit.record(
                action: "renewal.refuse", subject: topicDevice,
                details: ["reason": error.message, "type": type, "nonce": request.nonce], at: now)
            return .refused(reason: error.message, reprovision: false)
        }
    }

    /// Audits the refusal of a message that is not a renewal request at all (unreadable JSON, wrong topic).
    public func recordRenewalRefusal(topicDevice: String, reason: String, now: Date = Date()) throws {
        try audit.record(action: "renewal.refuse", subject: topicDevice, details: ["reason": reason], at: now)
    }

    /// Leaves a rotation order for `fleetctl serve` to send on the device's command topic; returns its id.
    public func orderRotation(deviceID: String, now: Date = Date()) throws -> Int64 {
        try IdentityName.validate(deviceID)
        return try database.transaction {
            guard try database.queryOne("SELECT 1 FROM devices WHERE id = ?", [.text(deviceID)]) != nil else {
                throw FleetCAError(.notFound, "no device '\(deviceID)' in the inventory")
            }
            try database.run(
                "INSERT INTO rotation_orders(device, requested_at) VALUES(?, ?)",
                [.text(deviceID), .integer(Int64(now.timeIntervalSince1970))])
            let id = try database.queryOne("SELECT last_insert_rowid()")?[0].int64 ?? 0
            try audit.record(action: "rotation.order", subject: deviceID, details: ["order": String(id)], at: now)
            return id
        }
    }

    /// Orders not sent yet, oldest first.
    public func pendingRotationOrders() throws -> [RotationOrder] {
        try database.query("SELECT * FROM rotation_orders WHERE sent_at IS NULL ORDER BY id").map(rotationOrder)
    }

    /// One order by id, or nil.
    public func rotationOrder(id: Int64) throws -> RotationOrder? {
        try database.queryOne("SELECT * FROM rotation_orders WHERE id = ?", [.integer(id)]).map(rotationOrder)
    }

    /// Records that an order went out on the device's command topic.
    public func markRotationOrderSent(id: Int64, now: Date = Date()) throws {
        try database.transaction {
            try database.run(
                "UPDATE rotation_orders SET sent_at = ? WHERE id = ?",
                [.integer(Int64(now.timeIntervalSince1970)), .integer(id)])
            let device = try rotationOrder(id: id)?.device ?? ""
            try audit.record(action: "rotation.send", subject: device, details: ["order": String(id)], at: now)
        }
    }

    // MARK: - Checks

    private struct CheckedRequest {
        let record: CertificateRecord
        let request: CertificateSigningRequest?
    }

    private struct Refusal: Error {
        let reason: String
        var reprovision = false
    }

    private func check(
        topicDevice: String, viaRecovery: Bool, request: RenewalRequest, type: String, now: Date
    ) throws -> Result<CheckedRequest, Refusal> {
        func refuse(_ reason: String, reprovision: Bool = false) -> Result<CheckedRequest, Refusal> {
            .failure(Refusal(reason: reason, reprovision: reprovision))
        }
        guard type == "renew" || type == "confirm" else { return refuse("unknown request type '\(type)'") }
        guard IdentityName.isValid(topicDevice) else { return refuse("'\(topicDevice)' is not a device id") }
        let settings = configuration.renewal

        // The certificate: this CA's, in the inventory, naming the topic's device.
        guard let certificate = try? Certificate(pem: request.certificate) else {
            return refuse("the request's certificate is not a PEM certificate")
        }
        guard certificate.isIssued(by: issuingCertificate),
            let serial = try? certificate.serialNumber.hex,
            let record = try self.certificate(serial: serial, now: now),
            record.fingerprintSHA256 == certificate.fingerprintSHA256
        else {
            return refuse("the request's certificate was not issued by this CA")
        }
        guard record.subjectKind == .device, record.subject == topicDevice,
            certificate.subjectCommonName == topicDevice
        else {
            return refuse(
                "the request's certificate names '\(certificate.subjectCommonName ?? "")', "
                    + "not the device of the topic, '\(topicDevice)'")
        }

        // Its state: active; or, through the recovery identity only, expired within the grace window.
        switch record.state {
        case .revoked:
            return refuse(
                "certificate \(serial) of '\(topicDevice)' is revoked "
                    + "(\(record.revocationReason?.rawValue ?? "unspecified")); the device must be provisioned again",
                reprovision: true)
        case .superseded:
            return refuse(
                "certificate \(serial) of '\(topicDevice)' is superseded by a newer one; sign with the newest")
        case .expired:
            let newest = try database.queryOne(
                "SELECT serial FROM certificates WHERE subject_kind = 'device' AND subject = ? "
                    + "ORDER BY issued_at DESC, rowid DESC LIMIT 1", [.text(topicDevice)])?["serial"].string
            guard newest == serial, record.revokedAt == nil else {
                return refuse(
                    "certificate \(serial) of '\(topicDevice)' is superseded by a newer one; sign with the newest")
            }
            guard viaRecovery else {
                return refuse(
                    "certificate \(serial) of '\(topicDevice)' has expired; renew through the recovery credential")
            }
            let expiredFor = Int64(now.timeIntervalSince(record.notAfter))
            guard expiredFor <= settings.graceSeconds else {
                return refuse(
                    "certificate \(serial) of '\(topicDevice)' expired \(expiredFor) s ago, past the grace window "
                        + "of \(settings.graceSeconds) s; the device must be provisioned again", reprovision: true)
            }
        case .active:
            break
        }
        if viaRecovery, try recoveryRevoked(deviceID: topicDevice) {
            return refuse(
                "the recovery credential of '\(topicDevice)' is revoked; the device must be provisioned again",
                reprovision: true)
        }

        // Freshness and proof of possession.
        let skew = abs(Int64(now.timeIntervalSince1970) - request.timestamp)
        guard skew <= settings.clockSkewSeconds else {
            return refuse(
                "the request's timestamp is \(skew) s away from the CA's clock (at most \(settings.clockSkewSeconds) s)"
            )
        }
        guard let nonceBytes = Data(base64Encoded: request.nonce), nonceBytes.count >= 16 else {
            return refuse("the request's nonce is not 16 or more base64 bytes")
        }
        let message = RenewalRequest.signedText(
            device: topicDevice, type: type, nonce: request.nonce, timestamp: request.timestamp,
            csr: request.csr ?? "")
        guard let signature = Data(base64Encoded: request.signature),
            let publicKey = try? certificate.publicKey,
            Signature.verify(Array(signature), of: message, with: publicKey)
        else {
            return refuse("the request's signature does not verify with the key of certificate \(serial)")
        }

        // Replay and rate limit, recorded in the inventory so a restart forgets neither.
        let nowSeconds = Int64(now.timeIntervalSince1970)
        let replay = try database.transaction { () throws -> String? in
            if try database.queryOne("SELECT 1 FROM renewal_nonces WHERE nonce = ?", [.text(request.nonce)]) != nil {
                return "the request's nonce was already used: a replayed request"
            }
            let recent =
                try database.queryOne(
                    "SELECT COUNT(*) FROM renewal_nonces WHERE device = ? AND seen_at > ?",
                    [.text(topicDevice), .integer(nowSeconds - settings.rateWindowSeconds)])?[0].int64 ?? 0
            try database.run(
                "INSERT INTO renewal_nonces(nonce, device, seen_at) VALUES(?, ?, ?)",
                [.text(request.nonce), .text(topicDevice), .integer(nowSeconds)])
            let keep = max(settings.rateWindowSeconds, 2 * settings.clockSkewSeconds)
            try database.run("DELETE FROM renewal_nonces WHERE seen_at < ?", [.integer(nowSeconds - keep)])
            if recent >= Int64(settings.rateLimit) {
                return "'\(topicDevice)' made \(recent) requests within \(settings.rateWindowSeconds) s "
                    + "(the limit is \(settings.rateLimit)); try again later"
            }
            return nil
        }
        if let replay { return refuse(replay) }
        if type == "confirm" { return .success(CheckedRequest(record: record, request: nil)) }

        // The new key: a CSR naming the device, for a key that is not the current one.
        guard let csrPEM = request.csr, let csr = try? CertificateSigningRequest(pem: csrPEM) else {
            return refuse("the request carries no readable CSR")
        }
        guard csr.subjectCommonNames == [topicDevice] else {
            return refuse(
                "the CSR names '\(csr.subjectCommonNames.joined(separator: ","))', not the device '\(topicDevice)'")
        }
        guard let newKey = try? csr.publicKey, !newKey.isSameKey(as: publicKey) else {
            return refuse("the CSR's key is the current certificate's key; a renewal needs a new key")
        }
        do { try newKey.checkStrength(of: "the CSR") } catch { return refuse(error.message) }
        return .success(CheckedRequest(record: record, request: csr))
    }

    private func recoveryRevoked(deviceID: String) throws -> Bool {
        let state = try database.queryOne(
            "SELECT state FROM certificates WHERE subject_kind = 'device' AND subject = ? "
                + "ORDER BY issued_at DESC, rowid DESC LIMIT 1", [.text(Self.recoveryIdentity(for: deviceID))]
        )?["state"].string
        return state == "revoked"
    }

    /// Retires the device's superseded certificates as configured; returns the serials revoked.
    private func retireSuperseded(deviceID: String, now: Date) throws -> [String] {
        guard configuration.renewal.retireSuperseded == .revoke else { return [] }
        let serials = try database.query(
            "SELECT serial FROM certificates WHERE subject_kind = 'device' AND subject = ? AND state = 'superseded' "
                + "AND not_after > ?", [.text(deviceID), .integer(Int64(now.timeIntervalSince1970))]
        ).compactMap { $0["serial"].string }
        for serial in serials { try revoke(serial: SerialNumber(hex: serial), reason: .superseded, now: now) }
        return serials
    }

    private func rotationOrder(_ row: Row) -> RotationOrder {
        RotationOrder(
            id: row["id"].int64 ?? 0, device: row["device"].string ?? "",
            requestedAt: Date(timeIntervalSince1970: TimeInterval(row["requested_at"].int64 ?? 0)),
            sentAt: row["sent_at"].int64.map { Date(timeIntervalSince1970: TimeInterval($0)) })
    }
}
