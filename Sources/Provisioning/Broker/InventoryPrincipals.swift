import AccessPolicy
import FleetCA

/// The principals the ACL exporter needs, read from the CA inventory: every device with its groups,
/// attributes and revocation state, and every service identity.
public enum InventoryPrincipals {
    /// All principals, devices first, each list sorted by id so that exports are deterministic.
    public static func load(from authority: CertificateAuthority) throws -> [Principal] {
        let devices = try authority.devices().sorted { $0.id < $1.id }.map { device throws -> Principal in
            try Principal(
                id: device.id, kind: .device, groups: device.groups, attributes: device.attributes,
                revoked: isLockedOut(device.state))
        }
        let services = try authority.services().sorted { $0.name < $1.name }.map { service throws -> Principal in
            try Principal(id: service.name, kind: .service, revoked: isLockedOut(service.state))
        }
        return devices + services
    }

    /// A principal whose newest certificate was revoked gets no rights. (One whose certificates all
    /// expired keeps its rules: it cannot connect to use them, and renewal gives them back.)
    private static func isLockedOut(_ state: CertificateState?) -> Bool {
        state == .revoked
    }
}
