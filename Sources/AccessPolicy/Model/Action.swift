/// What a rule is about: sending messages or receiving them.
public enum Action: String, Sendable, Hashable, CaseIterable, Codable {
    /// Sending a message on a topic.
    case publish
    /// Receiving messages on a topic (enforced per delivered message by Mosquitto's acl_file).
    case subscribe
}
