import AccessPolicy
import AtomicFiles
import FleetCA
import Foundation
import PKI

#if canImport(Glibc)
    import Glibc
#endif

/// `fleetctl broker sync`: brings a running broker's CRL and ACL up to date and proves that it
/// enforces them.
///
/// The order is what makes it safe: build and check both files before anything is touched (a corrupt or
/// expiring CRL is refused and the broker keeps enforcing the one it has); swap each in with an atomic
/// rename; send SIGHUP; then make real TLS handshakes with the canary credentials until the revoked one
/// is refused and the good one accepted. Anything short of that is reported as a failure.
public struct BrokerSync {
    public let layout: BrokerLayout
    public let authority: CertificateAuthority
    public let record: BrokerRecord

    /// What one sync did and saw.
    public struct Report: Sendable {
        public var crlNumber: Int64?
        public var crlNextUpdate: Date
        public var revokedCertificates: Int
        public var aclUserBlocks: Int
        public var aclSharedRules: Int
        public var warnings: [String]
        public var reloaded: Bool
        public var revokedCanary: HandshakeProbe.Outcome?
        public var goodCanary: HandshakeProbe.Outcome?
        /// True when the proof failed and the previous CRL and ACL were put back.
        public var rolledBack = false
        /// True when the broker was reloaded and both canaries behaved.
        public var proven: Bool { reloaded && revokedCanary.map(isRefused) == true && goodCanary == .accepted }

        private func isRefused(_ outcome: HandshakeProbe.Outcome) -> Bool {
            if case .refused = outcome { return true }
            return false
        }
    }

    /// Opens the broker folder written by `broker init`.
    public init(layout: BrokerLayout, authority: CertificateAuthority) throws {
        self.layout = layout
        self.authority = authority
        guard let data = FileManager.default.contents(atPath: layout.recordPath) else {
            throw ProvisioningError(
                "'\(layout.folder)' is not a broker folder (no broker.json); "
                    + "create it with 'fleetctl broker init --dir \(layout.folder)'")
        }
        do {
            record = try JSONDecoder().decode(BrokerRecord.self, from: data)
        } catch {
            throw ProvisioningError("cannot read '\(layout.recordPath)': \(error)")
        }
    }

    init(layout: BrokerLayout, authority: CertificateAuthority, record: BrokerRecord) {
        self.layout = layout
        self.authority = authority
        self.record = record
    }

    /// Builds, checks and installs the CRL and ACL without reloading the broker.
    ///
    /// - Parameter crlFile: a CRL to deploy instead of the CA's current one (from an offline signer).
    public func installFiles(crlFile: String? = nil, now: Date = Date()) throws -> Report {
        try checkTrust()
        try CanaryCredential.prepare(in: layout, authority: authority, freshRevoked: crlFile == nil, now: now)

        let crlPEM: String
        let source: String
        if let crlFile {
            guard let text = try? String(contentsOfFile: crlFile, encoding: .utf8) else {
                throw ProvisioningError("cannot read the CRL file '\(crlFile)'")
            }
            (crlPEM, source) = (text, "'\(crlFile)'")
        } else {
            (crlPEM, source) = (try authority.currentCRLPEM(now: now), "the CA's current CRL")
        }
        let mustList = try authority.revokedSerials(now: now)
        let crl = try DeployableCRL.validate(
            crlPEM, source: source, issuer: authority.issuingCertificate,
            mustList: mustList, now: now)

        let policies = try PolicySet.load(path: record.policies)
        let principals = try InventoryPrincipals.load(from: authority)
        let export = try ACLExporter(policies: policies, principals: principals).export(.mosquitto)
        guard !export.text.isEmpty else { throw ProvisioningError("the ACL export came out empty; nothing deployed") }

        let owner = BrokerFileOwner()
        try keepPrevious(layout.crlPath)
        try keepPrevious(layout.aclPath)
        try owner.write(crl.pem, to: layout.crlPath, secret: false)
        try owner.write(export.text, to: layout.aclPath, secret: true)
        return Report(
            crlNumber: crl.number, crlNextUpdate: crl.nextUpdate, revokedCertificates: crl.revokedSerials.count,
            aclUserBlocks: export.userBlocks, aclSharedRules: export.sharedRules, warnings: export.warnings,
            reloaded: false)
    }

    /// The whole sync: install, reload, prove. `pidFile` defaults to the one in the broker folder.
    ///
    /// - Parameter proofTimeout: how long to keep probing for the reloaded state; a SIGHUP is handled
    ///   on the broker's next loop turn, so the first handshakes may still meet the old state.
    public func run(crlFile: String? = nil, pidFile: String? = nil, proofTimeout: Double = 15) throws -> Report {
        var report = try installFiles(crlFile: crlFile)
        let pidPath = pidFile ?? layout.pidPath
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else {
            throw ProvisioningError(
                "the new CRL and ACL are installed, but no broker pid was found in '\(pidPath)'; "
                    + "start the broker (mosquitto -c \(layout.configurationPath)) or pass --pid-file")
        }
        guard kill(pid, SIGHUP) == 0 else {
            throw ProvisioningError(
                "the new CRL and ACL are installed, but the broker (pid \(pid) from '\(pidPath)') "
                    + "could not be signalled: \(String(cString: strerror(errno)))")
        }
        report.reloaded = true
        prove(&report, timeout: proofTimeout)
        if !report.proven {
            // Either the broker refuses a valid client (the new files broke it) or it accepts a revoked one
            // (it could not load the new CRL and turned CRL checking off). The previous files were proven
            // at the last sync: put them back so the fleet keeps working and revoked clients stay out.
            try restorePrevious(layout.crlPath)
            try restorePrevious(layout.aclPath)
            kill(pid, SIGHUP)
            report.rolledBack = true
        }
        return report
    }

    /// Refuses to touch a broker that does not trust this CA's issuing certificate: its CRL and ACL would
    /// lock every device out (a wrong `--home`, say).
    func checkTrust() throws {
        let trusted = (try? Certificate.all(pem: String(contentsOfFile: layout.caPath, encoding: .utf8))) ?? []
        let issuing = authority.issuingCertificate.fingerprintSHA256
        guard trusted.contains(where: { $0.fingerprintSHA256 == issuing }) else {
            throw ProvisioningError(
                "the broker in '\(layout.folder)' does not trust the issuing CA of '\(authority.home.path)' "
                    + "('\(authority.issuingCertificate.subject)' is not in \(layout.caPath)); nothing was changed. "
                    + "Use the CA home recorded in \(layout.recordPath): '\(record.home)'")
        }
    }

    private func keepPrevious(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let previous = path + ".previous"
        try? FileManager.default.removeItem(atPath: previous)
        try FileManager.default.copyItem(atPath: path, toPath: previous)
    }

    private func restorePrevious(_ path: String) throws {
        let previous = path + ".previous"
        guard FileManager.default.fileExists(atPath: previous) else { return }
        try AtomicFile.move(previous, over: path)
    }

    /// Probes with both canaries until the revoked one is refused and the good one accepted, or time runs out.
    public func prove(_ report: inout Report, timeout: Double) {
        let deadline = Date().addingTimeInterval(timeout)
        let host = record.bindAddress == "0.0.0.0" ? "127.0.0.1" : record.bindAddress
        repeat {
            report.revokedCanary = probe(.revoked, host: host)
            report.goodCanary = probe(.good, host: host)
            if report.proven { return }
            usleep(200_000)
        } while Date() < deadline
    }

    private func probe(_ role: CanaryCredential.Role, host: String) -> HandshakeProbe.Outcome {
        let files = CanaryCredential.files(role, in: layout)
        let name =
            (try? Certificate(pem: String(contentsOfFile: files.certificate, encoding: .utf8)))?
            .subjectCommonName ?? "fleet-canary"
        return HandshakeProbe.attempt(
            host: host, port: Int(record.port), caFile: layout.caPath, certificateFile: files.certificate,
            keyFile: files.key, clientID: name)
    }
}
