import FleetIdentity
/// Someone the broker lets in: a device or a named back-end service, as the CA inventory knows it.
///
/// fleetctl builds these from the inventory; AccessPolicy never reads the inventory itself. Every name
/// (id, groups, attribute names and values) uses the fleet's id charset, so none can hold `/`, `+`, `#`,
/// `$`, NUL, whitespace or `..`; that is what makes `%u` patterns and `{attr.NAME}` templates safe.
public struct Principal: Sendable, Hashable, Codable {
    /// Whether the principal is a device or a back-end service.
    public enum Kind: String, Sendable, Codable, Hashable {
        case device, service
    }

    /// The id: certificate CN, broker username and client id.
    public let id: String
    /// Device or service.
    public let kind: Kind
    /// Group names, sorted and without duplicates.
    public let groups: [String]
    /// Attributes from `provision --attr NAME=VALUE`.
    public let attributes: [String: String]
    /// A revoked principal gets no rights at all, in decisions and in every export.
    public let revoked: Bool

    /// Validates every name and builds the principal.
    public init(
        id: String, kind: Kind, groups: [String] = [], attributes: [String: String] = [:], revoked: Bool = false
    ) throws(PolicyError) {
        try Principal.validateName(id, what: "\(kind.rawValue) id")
        for group in groups { try Principal.validateName(group, what: "group name") }
        for (name, value) in attributes {
            try Principal.validateName(name, what: "attribute name")
            try Principal.validateName(value, what: "value of attribute '\(name)'")
        }
        self.id = id
        self.kind = kind
        self.groups = Array(Set(groups)).sorted()
        self.attributes = attributes
        self.revoked = revoked
    }

    private enum CodingKeys: String, CodingKey { case id, kind, groups, attributes, revoked }

    /// Decodes and validates one entry of a principals file.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            id: container.decode(String.self, forKey: .id),
            kind: container.decodeIfPresent(Kind.self, forKey: .kind) ?? .device,
            groups: container.decodeIfPresent([String].self, forKey: .groups) ?? [],
            attributes: container.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:],
            revoked: container.decodeIfPresent(Bool.self, forKey: .revoked) ?? false)
    }

    /// Refuses a name outside the fleet's charset: 1-64 of `A-Z a-z 0-9 . _ -`, starting with a letter or
    /// digit, never `..`. The error names the value and the first bad character.
    public static func validateName(_ name: String, what: String) throws(PolicyError) {
        if let problem = IdentityRule.problem(with: name, what: what) { throw PolicyError(problem) }
    }
}
