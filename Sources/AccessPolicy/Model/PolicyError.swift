/// A problem with policy files, principals or an export, with the file and line it comes from when known.
///
/// `description` is one sentence: `policies/sensors.yaml:12: filter 'a/#/b' has '#' before its last level`.
public struct PolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let file: String?
    public let line: Int?
    public let column: Int?

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

/// Several problems at once: what a loader or linter found in all files, in file and line order.
public struct PolicyErrors: Error, CustomStringConvertible, Sendable {
    public let errors: [PolicyError]

    public init(_ errors: [PolicyError]) { self.errors = errors }

    public var description: String {
        if errors.count == 1 { return errors[0].description }
        return "\(errors.count) problems in the policies:\n" + errors.map { "  \($0)" }.joined(separator: "\n")
    }
}
