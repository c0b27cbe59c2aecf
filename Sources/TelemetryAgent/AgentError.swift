/// A failure of the agent, as one sentence naming the value involved. Key material never appears in it.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    /// The sentence.
    public let message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
