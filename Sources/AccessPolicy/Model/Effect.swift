/// Whether a rule grants or takes away. Deny wins over allow; what no rule grants is denied.
public enum Effect: String, Sendable, Hashable, Codable {
    case allow, deny
}
