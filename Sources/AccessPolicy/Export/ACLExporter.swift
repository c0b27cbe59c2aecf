/// Turns policies and the inventory's principals into a broker's ACL file.
///
/// Every format either means exactly what the policies mean on its broker, or the export is refused with
/// the reason; a rule the broker would ignore is never written. Output is deterministic: the same
/// policies and principals give the same bytes (principals are sorted by id, rules by file and line).
public struct ACLExporter: Sendable {
    public let policies: PolicySet
    /// Principals sorted by id.
    public let principals: [Principal]

    /// Mosquitto reloads stall every client while the file loads; loading is quadratic in `user` blocks
    /// (about 1 s at 10,000 and 11 s at 30,000 on the reference machine). Warn from this many on.
    public static let userBlockWarningThreshold = 5_000

    /// Refuses two principals with one id: the broker could not tell them apart.
    public init(policies: PolicySet, principals: [Principal]) throws(PolicyError) {
        var seen: [String: Principal.Kind] = [:]
        for principal in principals {
            if let kind = seen[principal.id] {
                throw PolicyError("the id '\(principal.id)' is both a \(kind.rawValue) and a "
                    + "\(principal.kind.rawValue); broker usernames must be unique")
            }
            seen[principal.id] = principal.kind
        }
        self.policies = policies
        self.principals = principals.sorted { $0.id < $1.id }
    }

    /// Writes the ACL for `format`, or throws the reason the format cannot express the policies.
    public func export(_ format: ACLFormat) throws(PolicyError) -> ACLExport {
        for rule in policies.rules where rule.effect == .allow && rule.action == .publish {
            if case .literal(let first)? = rule.template.levels.first,
                let root = PolicySet.brokerReservedRoot(ofTopic: first) {
                throw PolicyError("\(rule) would be an inert rule: brokers refuse client publishes under '\(root)'")
            }
        }
        switch format {
        case .mosquitto: return try MosquittoACLWriter(exporter: self).write()
        case .mosquittoDynsec: return try DynsecWriter(exporter: self).write()
        case .emqx: return try EMQXWriter(exporter: self).write()
        case .vernemq: return try VerneMQWriter(exporter: self).write()
        }
    }

    /// Rules written once with the device id substituted by the broker: the subject is every device and
    /// the only placeholder is `{device}`.
    var sharedRules: [PolicyRule] {
        policies.rules.filter { $0.subject.allDevices && $0.template.isDeviceOnly }
    }

    /// The header every format starts with: what wrote it and from what, in the format's comment syntax.
    func header(comment: String, format: ACLFormat, extra: [String]) -> String {
        let files = policies.files.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
        let devices = principals.filter { $0.kind == .device }.count
        let services = principals.count - devices
        let revoked = principals.filter(\.revoked).count
        var lines = [
            "Written by fleetctl acl export --format \(format.rawValue). Do not edit: re-export instead.",
            "Policies: \(files.joined(separator: ", ")).",
            "Principals: \(devices) devices, \(services) services, \(revoked) revoked.",
        ]
        lines += extra
        return lines.map { "\(comment) \($0)".trimmingTrailingSpaces }.joined(separator: "\n") + "\n"
    }

    /// Ids reach `%u` and `${username}` unchanged; refuse any that would change a filter's shape.
    func checkSubstitutable() throws(PolicyError) {
        for principal in principals {
            if let bad = principal.id.first(where: { "/+#%$\u{0} ".contains($0) }) {
                throw PolicyError("principal id '\(principal.id)' holds '\(bad)'; it would change the meaning of "
                    + "pattern rules, so no pattern is written")
            }
        }
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}
