/// A mistake in how a command was called. The message is one sentence that quotes the bad token;
/// the executables print it after the program name and exit with status 2.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
