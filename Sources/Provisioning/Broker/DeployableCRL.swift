import Foundation
import PKI

/// The checks a CRL must pass before it goes to a broker. Mosquitto turns CRL checking off without a
/// word when a reloaded CRL is corrupt, and refuses every client once a CRL's nextUpdate has passed, so
/// a CRL that would do either is never deployed.
public enum DeployableCRL {
    /// The least time a deployed CRL must have left before its nextUpdate: an hour, or a quarter of its
    /// lifetime when that is shorter (test fleets run CRLs of seconds).
    public static func minimumRemaining(of list: RevocationList) -> TimeInterval {
        min(3_600, list.nextUpdate.timeIntervalSince(list.thisUpdate) / 4)
    }

    /// Parses and checks `pem`: signed by `issuer`, already in force, at least `minimumRemaining` before
    /// its nextUpdate (see `minimumRemaining`), and listing every serial in `mustList` (lowercase hex).
    public static func validate(
        _ pem: String, source: String, issuer: Certificate, mustList: [String], now: Date = Date()
    ) throws -> RevocationList {
        let list: RevocationList
        do {
            list = try RevocationList(pem: pem)
        } catch {
            throw ProvisioningError(
                "the CRL in \(source) cannot be read (\(error)); it was not deployed and the "
                    + "broker keeps its current CRL")
        }
        guard list.isSigned(by: issuer) else {
            throw ProvisioningError(
                "the CRL in \(source) is not signed by the issuing CA '\(issuer.subject)'; "
                    + "it was not deployed")
        }
        guard list.thisUpdate <= now.addingTimeInterval(300) else {
            throw ProvisioningError(
                "the CRL in \(source) is dated \(iso(list.thisUpdate)), in the future; "
                    + "check the clocks; it was not deployed")
        }
        let remaining = list.nextUpdate.timeIntervalSince(now)
        guard remaining >= minimumRemaining(of: list) else {
            let when = remaining <= 0 ? "expired at" : "expires at"
            throw ProvisioningError(
                "the CRL in \(source) \(when) \(iso(list.nextUpdate)); a broker refuses every "
                    + "client once it expires, so it was not deployed; re-sign it with 'fleetctl crl'")
        }
        let listed = Set(list.revokedSerials.map(normalised))
        let missing = mustList.map(normalised).filter { !listed.contains($0) }
        guard missing.isEmpty else {
            throw ProvisioningError(
                "the CRL in \(source) does not list \(missing.count) revoked certificate(s) "
                    + "(first: serial \(missing[0])); it is older than the inventory and was not deployed")
        }
        return list
    }

    static func normalised(_ serial: String) -> String {
        let lower = serial.lowercased()
        let trimmed = lower.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }
}
