/// The result of an export: the file's bytes and what the operator should know about them.
public struct ACLExport: Sendable {
    /// The format written.
    public let format: ACLFormat
    /// The whole file.
    public let text: String
    /// Per-principal blocks written (`user` blocks, dynsec clients, EMQX principals with own rules).
    public let userBlocks: Int
    /// Rules written once for every device (`pattern` lines, EMQX `${username}` rules).
    public let sharedRules: Int
    /// Sentences for the operator: load-time warnings, rights the format had to narrow.
    public let warnings: [String]
    /// Filters on which a principal holds less than the policy gives, because the format cannot take a
    /// shared rule back from it without also taking its own right (Mosquitto patterns reaching services).
    /// The format never gives more than the policy; this lists every place it gives less.
    public let narrowed: [(principal: String, filter: TopicFilter)]

    /// An export result; the writers build these.
    public init(
        format: ACLFormat, text: String, userBlocks: Int, sharedRules: Int, warnings: [String],
        narrowed: [(principal: String, filter: TopicFilter)] = []
    ) {
        self.format = format
        self.text = text
        self.userBlocks = userBlocks
        self.sharedRules = sharedRules
        self.warnings = warnings
        self.narrowed = narrowed
    }
}
