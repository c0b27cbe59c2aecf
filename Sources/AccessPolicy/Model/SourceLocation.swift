/// Where a rule was written: the policy file (as given to the loader) and the 1-based line.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// The file as the loader was given it.
    public let file: String
    /// 1-based line.
    public let line: Int

    /// A location.
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`.
    public var description: String { "\(file):\(line)" }

    /// File, then line order.
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line) < (rhs.file, rhs.line)
    }
}
