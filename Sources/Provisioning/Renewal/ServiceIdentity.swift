import FleetCA
import Foundation
import MQTT

/// The CA service's own MQTT identity, `fleet-ca`: a service certificate from this CA.
public enum ServiceIdentity {
    /// The service name the example policies grant the PKI topics to.
    public static let name = "fleet-ca"

    /// The TLS files to connect with. `folder` (cert.pem, key.pem, root.pem) when given; else
    /// `HOME/services/fleet-ca`, created with a new service certificate when the inventory has none.
    /// Returns the files and whether a new identity was made (the broker's ACL needs a sync to know it).
    public static func prepare(
        authority: CertificateAuthority, folder: String?
    ) throws -> (credentials: TLSCredentials, created: Bool) {
        let chosen = folder ?? authority.home.path + "/services/" + name
        func files() -> TLSCredentials {
            TLSCredentials(
                caFile: chosen + "/root.pem", certificateFile: chosen + "/cert.pem", keyFile: chosen + "/key.pem")
        }
        let existing = files()
        let present = [existing.caFile, existing.certificateFile, existing.keyFile].allSatisfy {
            FileManager.default.fileExists(atPath: $0)
        }
        if present { return (existing, false) }
        if folder != nil {
            throw ProvisioningError(
                "'\(chosen)' does not hold cert.pem, key.pem and root.pem; "
                    + "make them with 'fleetctl service add \(name) --out \(chosen)'")
        }
        if let record = try authority.service(name: name), record.state == .active {
            throw ProvisioningError(
                "the service '\(name)' has an active certificate, but its files are not in '\(chosen)'; "
                    + "pass --credentials DIR, or revoke it ('fleetctl revoke \(name)') to have a new one made")
        }
        let credential = try authority.addService(name: name)
        try ServiceBundle.write(credential, authority: authority, to: chosen)
        return (files(), true)
    }
}
