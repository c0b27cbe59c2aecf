import FleetCA
import Foundation
import PKI

/// The two client credentials `broker sync` uses to prove what the broker enforces: a `good` one that
/// must be accepted and a `revoked` one, revoked by the CA on purpose, that must be refused.
///
/// The revoked canary is new at every sync, revoked just before the CRL is built, so only the CRL being
/// deployed lists it: a broker that kept its old CRL, or whose CRL check silently switched off, accepts
/// it, and the proof waits until the reload has really happened. Its certificate lives a day, so the
/// CRL entries of past canaries soon drop out. The good canary is kept and renewed well before it
/// expires. Both are service identities in the inventory (`fleet-canary-good-N`,
/// `fleet-canary-revoked-N`), audited like any other, with no ACL rights.
public enum CanaryCredential {
    public enum Role: String, Sendable, CaseIterable {
        case good, revoked
    }

    /// Lifetime of the good canary's certificate, and how long before its end it is replaced.
    static let goodValiditySeconds: Int64 = 365 * 86_400
    static let renewBeforeSeconds: TimeInterval = 30 * 86_400
    /// Lifetime of each revoked canary's certificate.
    static let revokedValiditySeconds: Int64 = 86_400

    /// Renews the good canary when it is missing or near its end and, with `freshRevoked` (or when there
    /// is none yet), issues and revokes a new revoked canary. Call before building the CRL to deploy.
    ///
    /// A CRL signed elsewhere (`broker sync --crl`) cannot list a canary revoked after it was signed, so
    /// that mode keeps the last revoked canary: the proof then shows that CRL checking is on, not that this
    /// very CRL was loaded.
    public static func prepare(
        in layout: BrokerLayout, authority: CertificateAuthority, freshRevoked: Bool = true, now: Date = Date()
    ) throws {
        if try needsNew(.good, layout: layout, now: now) {
            try issue(.good, validitySeconds: goodValiditySeconds, layout: layout, authority: authority, now: now)
        }
        guard freshRevoked || FileManager.default.fileExists(atPath: files(.revoked, in: layout).key) == false
        else { return }
        let revoked = try issue(
            .revoked, validitySeconds: revokedValiditySeconds, layout: layout,
            authority: authority, now: now)
        try authority.revoke(id: revoked, reason: .cessationOfOperation, now: now)
    }

    @discardableResult
    private static func issue(
        _ role: Role, validitySeconds: Int64, layout: BrokerLayout, authority: CertificateAuthority, now: Date
    ) throws -> String {
        let name = try nextName(role, authority: authority)
        let credential = try authority.addService(name: name, validitySeconds: validitySeconds, now: now)
        try? FileManager.default.removeItem(atPath: layout.canary(role))
        try ServiceBundle.write(credential, authority: authority, to: layout.canary(role))
        return name
    }

    /// The credential files of one canary.
    public static func files(_ role: Role, in layout: BrokerLayout) -> (certificate: String, key: String) {
        (layout.canary(role) + "/cert.pem", layout.canary(role) + "/key.pem")
    }

    /// The serial of the revoked canary's certificate, which every deployed CRL must list.
    public static func revokedSerial(in layout: BrokerLayout) throws -> String {
        let text = try String(contentsOfFile: files(.revoked, in: layout).certificate, encoding: .utf8)
        return try Certificate(pem: text).serialText
    }

    private static func needsNew(_ role: Role, layout: BrokerLayout, now: Date) throws -> Bool {
        let paths = files(role, in: layout)
        guard FileManager.default.fileExists(atPath: paths.key),
            let text = try? String(contentsOfFile: paths.certificate, encoding: .utf8),
            let certificate = try? Certificate(pem: text)
        else { return true }
        return certificate.notAfter.timeIntervalSince(now) < renewBeforeSeconds
    }

    private static func nextName(_ role: Role, authority: CertificateAuthority) throws -> String {
        let prefix = "fleet-canary-\(role.rawValue)-"
        let taken = try authority.services().compactMap { service in
            service.name.hasPrefix(prefix) ? Int(service.name.dropFirst(prefix.count)) : nil
        }
        return prefix + String((taken.max() ?? 0) + 1)
    }
}
