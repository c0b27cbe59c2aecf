/// A problem with policy files, principals or an export, with the file and line it comes from when known.
///
/// `description` is one sentence: `policies/sensors.yaml:12: filter 'a/#/b' has '#' before its last level`.
public struct PolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The sentence, without the location.
    public let message: String
    /// The policy or principals file, when the problem is in one.
    public let file: String?
    /// 1-based line in `file`.
    public let line: Int?
    /// 1-based column in `file`.
    public let column: Int?

    /// A problem `message`, found at `file`:`line` when given.
    public init(_ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line: message`, or the message alone when no file is known.
    public var description: String {
        guard let file else { return message }
        guard let line, line > 0 else { return "\(file): \(message)" }
        return "\(file):\(line): \(message)"
    }
}
