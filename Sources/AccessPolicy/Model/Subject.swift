/// The principals a policy applies to: every device, devices in some groups, named devices, named services.
public struct Subject: Sendable, Hashable {
    /// `devices: all`.
    public let allDevices: Bool
    /// Groups named under `groups`.
    public let groups: [String]
    /// Device ids named under `devices`.
    public let devices: [String]
    /// Service names named under `services`.
    public let services: [String]

    /// A subject; empty lists name nobody.
    public init(allDevices: Bool = false, groups: [String] = [], devices: [String] = [], services: [String] = []) {
        self.allDevices = allDevices
        self.groups = groups
        self.devices = devices
        self.services = services
    }

    /// True when the subject can name a device at all.
    public var includesDevices: Bool { allDevices || !groups.isEmpty || !devices.isEmpty }

    /// The groups through which `principal` is in this subject: `[nil]` when it is in without a group
    /// (all devices, by name, or as a service), the matching groups otherwise, empty when it is not in.
    public func routes(for principal: Principal) -> [String?] {
        switch principal.kind {
        case .service:
            return services.contains(principal.id) ? [nil] : []
        case .device:
            let viaGroups = principal.groups.filter { groups.contains($0) }
            if allDevices || devices.contains(principal.id) {
                return principal.groups.isEmpty ? [nil] : principal.groups.map { Optional($0) }
            }
            return viaGroups.map { Optional($0) }
        }
    }
}
