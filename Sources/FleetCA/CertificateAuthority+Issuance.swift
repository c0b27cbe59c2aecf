import Foundation
import PKI
import Store

/// A certificate about to be stored: validated input, its template and its signed certificate.
struct PendingIssuance {
    let kind: SubjectKind
    let subject: String
    let template: CertificateTemplate
    let publicKey: PublicKey
    let generatedKey: PrivateKey?
    /// Set once signed; `insertCertificate` replaces it when a serial collides.
    var signedCertificate: Certificate? = nil
    let groups: [String]
    let attributes: [String: String]

    /// The signed certificate; asking before signing is a programming error reported as a failure.
    var certificate: Certificate {
        get throws {
            guard let signedCertificate else {
                throw FleetCAError(.failure, "the certificate for '\(subject)' was not signed")
            }
            return signedCertificate
        }
    }
}

extension CertificateAuthority {
    /// Records a new device and issues its first certificate.
    ///
    /// Everything is checked before anything is written: the id, groups and attributes, and the CSR
    /// (self-signature, key strength, subject CN equal to the id, no CA:TRUE request).
    public func provision(_ enrollment: DeviceEnrollment, now: Date = Date()) throws -> IssuedCredential {
        let outcomes = try provision(batch: [enrollment], now: now)
        return try outcomes[0].get()
    }

    /// Provisions many devices, committing `batchSize` of them per transaction.
    ///
    /// Every enrollment is validated first; if any is invalid, nothing is written and the error lists
    /// the problems. A device that another process created meanwhile fails alone (its result is
    /// `.alreadyExists`); the others go ahead. If a batch cannot be stored (disk full, say), the batches
    /// before it stay committed and are returned, and it and every later device come back as failures.
    /// `progress` is called with the number done so far.
    public func provision(
        batch enrollments: [DeviceEnrollment], batchSize: Int = 200, now: Date = Date(),
        progress: ((Int) -> Void)? = nil
    ) throws -> [Result<IssuedCredential, FleetCAError>] {
        var problems: [String] = []
        var seen = Set<String>()
        var pending: [PendingIssuance] = []
        pending.reserveCapacity(enrollments.count)
        for enrollment in enrollments {
            do {
                if !seen.insert(enrollment.id).inserted {
                    throw FleetCAError.invalid("device id '\(enrollment.id)' appears more than once")
                }
                pending.append(try prepareDevice(enrollment))
            } catch {
                problems.append("\(error)")
            }
        }
        if !problems.isEmpty {
            let shown = problems.prefix(10).joined(separator: "; ")
            let more = problems.count > 10 ? " (and \(problems.count - 10) more)" : ""
            throw FleetCAError.invalid(shown + more)
        }

        let key = try issuingKey()
        var results: [Result<IssuedCredential, FleetCAError>] = []
        results.reserveCapacity(pending.count)
        var start = 0
        while start < pending.count {
            let end = min(start + max(batchSize, 1), pending.count)
            do {
                for index in start..<end {
                    pending[index].signedCertificate = try sign(pending[index], key: key, now: now)
                }
                results += try database.transaction { () throws -> [Result<IssuedCredential, FleetCAError>] in
                    var head = try audit.head()
                    var chunkResults: [Result<IssuedCredential, FleetCAError>] = []
                    for index in start..<end {
                        chunkResults.append(try storeNewDevice(&pending[index], key: key, now: now, head: &head))
                    }
                    try audit.storeHead(head)
                    return chunkResults
                }
            } catch {
                // Earlier batches are committed and their credentials (keys included) must reach the caller,
                // so a failing batch ends the run with every remaining device reported as not provisioned.
                let reason = FleetCAError(.failure, "not provisioned: \(error)")
                results += Array(repeating: .failure(reason), count: pending.count - start)
                progress?(results.count)
                return results
            }
            start = end
            progress?(results.count)
        }
        return results
    }

    /// Issues a new certificate for a known device; its active certificates become superseded.
    /// This is also what the online renewal service calls with the device's CSR.
    public func rotate(
        deviceID: String, request: CertificateSigningRequest?, keyType: KeyType = .p256,
        validitySeconds: Int64? = nil, now: Date = Date()
    ) throws -> IssuedCredential {
        try IdentityName.validate(deviceID)
        var issuance = try prepareDevice(
            DeviceEnrollment(
                id: deviceID, request: request, keyType: keyType,
                validitySeconds: validitySeconds))
        let key = try issuingKey()
        issuance.signedCertificate = try sign(issuance, key: key, now: now)
        return try database.transaction {
            guard try database.queryOne("SELECT 1 FROM devices WHERE id = ?", [.text(deviceID)]) != nil else {
                throw FleetCAError(.notFound, "no device '\(deviceID)' in the inventory; provision it first")
            }
            if let revoked = try database.queryOne(
                "SELECT serial FROM certificates WHERE subject_kind = 'device' AND subject = ? AND state = 'revoked' "
                    + "AND revocation_reason = 'keyCompromise' LIMIT 1", [.text(deviceID)])?["serial"].string
            {
                throw FleetCAError.invalid(
                    "device '\(deviceID)' had certificate \(revoked) revoked for key compromise; "
                        + "re-provision it under a new id")
            }
            let superseded = try supersede(kind: .device, subject: deviceID)
            var head = try audit.head()
            let record = try insertCertificate(&issuance, key: key, now: now)
            try audit.append(
                action: "device.rotate", subject: deviceID,
                details: [
                    "serial": record.serial, "superseded": superseded.joined(separator: ","),
                    "keyGeneratedByCA": String(issuance.generatedKey != nil),
                ], at: now, head: &head)
            try audit.storeHead(head)
            return IssuedCredential(
                record: record, certificate: try issuance.certificate, privateKey: issuance.generatedKey)
        }
    }

    /// Issues a device certificate from a CSR for a device already in the inventory (the online
    /// renewal path); the same as `rotate` with a request.
    public func issueDeviceCertificate(
        deviceID: String, request: CertificateSigningRequest,
        now: Date = Date()
    ) throws -> IssuedCredential {
        try rotate(deviceID: deviceID, request: request, now: now)
    }

    /// Issues a TLS server certificate (serverAuth; SAN DNS names and IP addresses) with a key
    /// generated here, for a broker. The first host name (else address) is its CN.
    public func issueServerCertificate(
        hostNames: [String], ipAddresses: [String], keyType: KeyType = .p256,
        validitySeconds: Int64? = nil, now: Date = Date()
    ) throws -> IssuedCredential {
        guard let commonName = hostNames.first ?? ipAddresses.first else {
            throw FleetCAError.invalid("a server certificate needs at least one host name or IP address")
        }
        let key = try PrivateKey.generate(keyType)
        let template = CertificateTemplate(
            commonName: commonName, profile: .server, dnsNames: hostNames, ipAddresses: ipAddresses,
            validitySeconds: validitySeconds ?? configuration.serviceValiditySeconds,
            issuerURL: configuration.issuerURL, crlURL: configuration.crlURL)
        var issuance = PendingIssuance(
            kind: .server, subject: commonName, template: template, publicKey: key.publicKey,
            generatedKey: key, groups: [], attributes: [:])
        let signer = try issuingKey()
        do { issuance.signedCertificate = try sign(issuance, key: signer, now: now) } catch let error as PKIError {
            throw FleetCAError.invalid(error.message)
        }
        return try database.transaction {
            let record = try insertCertificate(&issuance, key: signer, now: now)
            try audit.record(
                action: "server.issue", subject: commonName,
                details: [
                    "serial": record.serial, "dns": hostNames.joined(separator: ","),
                    "ip": ipAddresses.joined(separator: ","),
                ], at: now)
            return IssuedCredential(record: record, certificate: try issuance.certificate, privateKey: key)
        }
    }

    /// Adds a service identity (a back-end principal): a clientAuth certificate with CN `name` and SAN
    /// `urn:fleet:service:<name>`, key generated here unless `request` is given. A service that already has
    /// an active certificate is refused; one whose certificates were all revoked or expired gets a new one.
    public func addService(
        name: String, request: CertificateSigningRequest? = nil, validitySeconds: Int64? = nil,
        now: Date = Date()
    ) throws -> IssuedCredential {
        try IdentityName.validate(name, as: "service name")
        let (publicKey, generated) = try subjectKey(request: request, expectedName: name, keyType: .p256)
        let template = CertificateTemplate(
            commonName: name, profile: .client, uris: ["urn:fleet:service:\(name)"],
            validitySeconds: validitySeconds ?? configuration.serviceValiditySeconds,
            issuerURL: configuration.issuerURL, crlURL: configuration.crlURL)
        var issuance = PendingIssuance(
            kind: .service, subject: name, template: template, publicKey: publicKey,
            generatedKey: generated, groups: [], attributes: [:])
        let key = try issuingKey()
        issuance.signedCertificate = try sign(issuance, key: key, now: now)
        return try database.transaction {
            try markExpired(now: now)
            if try database.queryOne(
                "SELECT 1 FROM certificates WHERE subject_kind = 'service' AND subject = ? "
                    + "AND state = 'active'", [.text(name)]) != nil
            {
                throw FleetCAError(
                    .alreadyExists, "service '\(name)' already has an active certificate; revoke it first")
            }
            try database.run(
                "INSERT OR IGNORE INTO services(name, created_at) VALUES(?, ?)",
                [.text(name), .integer(Int64(now.timeIntervalSince1970))])
            let record = try insertCertificate(&issuance, key: key, now: now)
            try audit.record(action: "service.add", subject: name, details: ["serial": record.serial], at: now)
            return IssuedCredential(record: record, certificate: try issuance.certificate, privateKey: generated)
        }
    }

    // MARK: - Steps

    /// Checks `enrollment` as `provision` would, writing nothing and generating no key: its id, groups,
    /// attributes and validity, its CSR, and that the device is not in the inventory yet.
    public func check(_ enrollment: DeviceEnrollment) throws {
        try validateNames(enrollment)
        if let request = enrollment.request {
            _ = try subjectKey(request: request, expectedName: enrollment.id, keyType: enrollment.keyType)
        }
        if try database.queryOne("SELECT 1 FROM devices WHERE id = ?", [.text(enrollment.id)]) != nil {
            throw FleetCAError(
                .alreadyExists,
                "device '\(enrollment.id)' is already in the inventory; use 'fleetctl rotate \(enrollment.id)'")
        }
    }

    private func validateNames(_ enrollment: DeviceEnrollment) throws {
        try IdentityName.validate(enrollment.id)
        for group in enrollment.groups { try IdentityName.validate(group, as: "group") }
        for (name, value) in enrollment.attributes { try DeviceAttribute.validate(name: name, value: value) }
        if let validity = enrollment.validitySeconds, validity <= 0 {
            throw FleetCAError.invalid("validity \(validity)s must be positive")
        }
    }

    func prepareDevice(_ enrollment: DeviceEnrollment) throws -> PendingIssuance {
        try validateNames(enrollment)
        let (publicKey, generated) = try subjectKey(
            request: enrollment.request, expectedName: enrollment.id,
            keyType: enrollment.keyType)
        let template = CertificateTemplate(
            commonName: enrollment.id, profile: .client, uris: ["urn:fleet:device:\(enrollment.id)"],
            validitySeconds: enrollment.validitySeconds ?? configuration.deviceValiditySeconds,
            issuerURL: configuration.issuerURL, crlURL: configuration.crlURL)
        return PendingIssuance(
            kind: .device, subject: enrollment.id, template: template, publicKey: publicKey,
            generatedKey: generated,
            groups: Array(Set(enrollment.groups)).sorted(), attributes: enrollment.attributes)
    }

    /// The key to certify: the CSR's, after every check, or a freshly generated one.
    func subjectKey(request: CertificateSigningRequest?, expectedName: String, keyType: KeyType) throws
        -> (PublicKey, PrivateKey?)
    {
        guard let request else {
            let key = try PrivateKey.generate(keyType)
            return (key.publicKey, key)
        }
        do { try request.validate() } catch {
            throw FleetCAError.invalid("\(error.message); refusing '\(expectedName)'")
        }
        if request.hasEmptySubject {
            throw FleetCAError.invalid(
                "the CSR for '\(expectedName)' has an empty subject; its CN must be '\(expectedName)'")
        }
        let names = request.subjectCommonNames
        guard names.count == 1 else {
            throw FleetCAError.invalid(
                "the CSR for '\(expectedName)' has \(names.count) CNs in its subject "
                    + "'\(request.subject)'; it needs exactly one, equal to '\(expectedName)'")
        }
        guard names[0] == expectedName else {
            throw FleetCAError.invalid("the CSR's CN '\(names[0])' differs from the id '\(expectedName)'")
        }
        if request.requestsCertificateAuthority {
            throw FleetCAError.invalid(
                "the CSR for '\(expectedName)' asks to be a CA (basicConstraints CA:TRUE); "
                    + "device certificates are never CAs")
        }
        return (try request.publicKey, nil)
    }

    func sign(_ issuance: PendingIssuance, key: PrivateKey, now: Date) throws -> Certificate {
        try CertificateBuilder.issue(
            issuance.template, subjectKey: issuance.publicKey, issuer: issuingCertificate,
            issuerKey: key, serial: .random(), now: now)
    }

    /// Stores a new device with its certificate, or reports that it exists; call inside a transaction.
    private func storeNewDevice(
        _ issuance: inout PendingIssuance, key: PrivateKey, now: Date,
        head: inout AuditLog.Head
    ) throws -> Result<IssuedCredential, FleetCAError> {
        let id = issuance.subject
        if try database.queryOne("SELECT 1 FROM devices WHERE id = ?", [.text(id)]) != nil {
            return .failure(
                FleetCAError(.alreadyExists, "device '\(id)' is already in the inventory; use 'fleetctl rotate \(id)'"))
        }
        let created = Int64(now.timeIntervalSince1970)
        try database.run("INSERT INTO devices(id, created_at) VALUES(?, ?)", [.text(id), .integer(created)])
        for group in issuance.groups {
            try database.run("INSERT INTO device_groups(device_id, name) VALUES(?, ?)", [.text(id), .text(group)])
        }
        for (name, value) in issuance.attributes.sorted(by: { $0.key < $1.key }) {
            try database.run(
                "INSERT INTO device_attributes(device_id, key, value) VALUES(?, ?, ?)",
                [.text(id), .text(name), .text(value)])
        }
        let record = try insertCertificate(&issuance, key: key, now: now)
        try audit.append(
            action: "device.provision", subject: id,
            details: [
                "serial": record.serial, "groups": issuance.groups.joined(separator: ","),
                "keyGeneratedByCA": String(issuance.generatedKey != nil),
                "notAfter": String(Int64(record.notAfter.timeIntervalSince1970)),
            ], at: now, head: &head)
        return .success(
            IssuedCredential(record: record, certificate: try issuance.certificate, privateKey: issuance.generatedKey))
    }

    /// Inserts the certificate row. A serial that collides with a stored one (the UNIQUE constraint) gets
    /// a fresh serial and signature, a few times, before giving up; call inside a transaction.
    func insertCertificate(_ issuance: inout PendingIssuance, key: PrivateKey, now: Date) throws -> CertificateRecord {
        var attempts = 0
        while true {
            let certificate = try issuance.certificate
            let record = CertificateRecord(
                serial: try certificate.serialNumber.hex, subjectKind: issuance.kind, subject: issuance.subject,
                state: .active, notBefore: certificate.notBefore, notAfter: certificate.notAfter, issuedAt: now,
                fingerprintSHA256: certificate.fingerprintSHA256, keyType: issuance.publicKey.keyDescription,
                keyGeneratedByCA: issuance.generatedKey != nil, revokedAt: nil, revocationReason: nil,
                pem: try certificate.pem)
            do {
                try database.run(
                    "INSERT INTO certificates(serial, subject_kind, subject, state, not_before, not_after, issued_at, "
                        + "fingerprint, key_type, key_generated, pem) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        .text(record.serial), .text(record.subjectKind.rawValue), .text(record.subject),
                        .text("active"),
                        .integer(Int64(record.notBefore.timeIntervalSince1970)),
                        .integer(Int64(record.notAfter.timeIntervalSince1970)),
                        .integer(Int64(now.timeIntervalSince1970)),
                        .text(record.fingerprintSHA256), .text(record.keyType),
                        .integer(record.keyGeneratedByCA ? 1 : 0),
                        .text(record.pem),
                    ])
                return record
            } catch {
                guard CertificateAuthority.isSerialCollision(error), attempts < 5 else { throw error }
            }
            attempts += 1
            issuance.signedCertificate = try sign(issuance, key: key, now: now)
        }
    }

    static func isSerialCollision(_ error: any Error) -> Bool {
        guard let error = error as? StoreError else { return false }
        return error.isConstraint && error.message.contains("serial")
    }

    /// Marks the subject's active certificates superseded and returns their serials; call inside a transaction.
    func supersede(kind: SubjectKind, subject: String) throws -> [String] {
        let rows = try database.query(
            "SELECT serial FROM certificates WHERE subject_kind = ? AND subject = ? AND state = 'active'",
            [.text(kind.rawValue), .text(subject)])
        try database.run(
            "UPDATE certificates SET state = 'superseded' WHERE subject_kind = ? AND subject = ? AND state = 'active'",
            [.text(kind.rawValue), .text(subject)])
        return rows.compactMap { $0["serial"].string }
    }

    /// Moves active and superseded certificates past their notAfter to `expired`; call inside a transaction.
    func markExpired(now: Date) throws {
        try database.run(
            "UPDATE certificates SET state = 'expired' WHERE state IN ('active', 'superseded') AND not_after <= ?",
            [.integer(Int64(now.timeIntervalSince1970))])
    }
}
