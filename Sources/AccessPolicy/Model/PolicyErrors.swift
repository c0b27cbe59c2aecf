/// Several problems at once: what a loader or linter found in all files, in file and line order.
public struct PolicyErrors: Error, CustomStringConvertible, Sendable {
    /// Every problem, in the order found.
    public let errors: [PolicyError]

    /// Wraps `errors`.
    public init(_ errors: [PolicyError]) { self.errors = errors }

    /// One line per problem.
    public var description: String {
        if errors.count == 1 { return errors[0].description }
        return "\(errors.count) problems in the policies:\n" + errors.map { "  \($0)" }.joined(separator: "\n")
    }
}
