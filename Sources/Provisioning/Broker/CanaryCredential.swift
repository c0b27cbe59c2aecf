import FleetCA
import Foundation
import PKI

/// The two client credentials `broker sync` uses to prove what the broker enforces: a `good` one that
/// must be accepted and a `revoked` one, revoked by the CA on purpose, that must be refused. A broker
/// that kept an old CRL, or whose CRL check silently switched off, accepts the revoked one.
///
/// Both are service identities in the inventory (`fleet-canary-good-N`, `fleet-canary-revoked-N`), so
/// they are audited like any other; they hold no ACL rights. They are renewed well before they expire,
/// because an expired canary would be refused for the wrong reason.
public enum CanaryCredential {
    public enum Role: String, Sendable, CaseIterable {
        case good, revoked
    }

    /// Lifetime of a canary certificate, and how long before its end it is replaced.
    static let validitySeconds: Int64 = 365 * 86_400
    static let renewBeforeSeconds: TimeInterval = 30 * 86_400

    /// Makes sure both canaries exist in `layout` and are far from expiry; issues (and for `revoked`,
    /// revokes) new ones when not. Returns true when the CA's state changed.
    @discardableResult
    public static func ensure(in layout: BrokerLayout, authority: CertificateAuthority, now: Date = Date()) throws -> Bool {
        var changed = false
        for role in Role.allCases where try needsNew(role, layout: layout, now: now) {
            let name = try nextName(role, authority: authority)
            let credential = try authority.addService(name: name, validitySeconds: validitySeconds, now: now)
            try ServiceBundle.write(credential, authority: authority, to: layout.canary(role))
            if role == .revoked {
                try authority.revoke(id: name, reason: .cessationOfOperation, now: now)
            }
            changed = true
        }
        return changed
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
