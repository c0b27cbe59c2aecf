/// A failure of the agent, as one sentence naming the value involved. Key material never appears in it.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
