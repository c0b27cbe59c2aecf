/// What a rule is about: sending messages or receiving them.
public enum Action: String, Sendable, Hashable, CaseIterable, Codable {
    /// Sending a message on a topic.
    case publish
    /// Receiving messages on a topic (enforced per delivered message by Mosquitto's acl_file).
    case subscribe
}

/// Whether a rule grants or takes away. Deny wins over allow; what no rule grants is denied.
public enum Effect: String, Sendable, Hashable, Codable {
    case allow, deny
}

/// Where a rule was written: the policy file (as given to the loader) and the 1-based line.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let file: String
    public let line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line) < (rhs.file, rhs.line)
    }
}

/// The principals a policy applies to: every device, devices in some groups, named devices, named services.
public struct Subject: Sendable, Hashable {
    public let allDevices: Bool
    public let groups: [String]
    public let devices: [String]
    public let services: [String]

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

/// One rule: a policy's allow or deny of one action on one topic template, with where it was written.
public struct PolicyRule: Sendable, Hashable, CustomStringConvertible {
    public let policy: String
    public let effect: Effect
    public let action: Action
    public let template: TopicTemplate
    public let subject: Subject
    public let location: SourceLocation

    public init(
        policy: String, effect: Effect, action: Action, template: TopicTemplate, subject: Subject,
        location: SourceLocation
    ) {
        self.policy = policy
        self.effect = effect
        self.action = action
        self.template = template
        self.subject = subject
        self.location = location
    }

    /// `allow publish fleet/{device}/status (policy 'device-own-topics', devices.yaml:14)`.
    public var description: String {
        "\(effect.rawValue) \(action.rawValue) \(template.text) (policy '\(policy)', \(location))"
    }

    /// The concrete filters this rule gives `principal` (several when `{group}` reaches several groups).
    public func filters(for principal: Principal) -> [TopicFilter] {
        var result: [TopicFilter] = []
        for route in subject.routes(for: principal) {
            guard let filter = template.expand(for: principal, group: route) else { continue }
            if !result.contains(filter) { result.append(filter) }
        }
        return result
    }
}
