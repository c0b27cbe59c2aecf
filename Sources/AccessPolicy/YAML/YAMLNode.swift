/// One node of a parsed YAML (or JSON) document, with the 1-based line and column where it starts.
///
/// Only what policy files need is kept: scalars as text, sequences, and mappings in file order.
/// Anchors and aliases are refused by the parser, so a document is always a tree.
public struct YAMLNode: Sendable {
    /// The shape of a node and its children.
    public indirect enum Value: Sendable {
        case scalar(String)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    /// The node and its children.
    public let value: Value
    /// 1-based line where the node starts.
    public let line: Int
    /// 1-based column where the node starts.
    public let column: Int

    /// A node at `line`:`column`.
    public init(value: Value, line: Int, column: Int) {
        self.value = value
        self.line = line
        self.column = column
    }

    /// The text of a scalar node, or nil for a sequence or mapping.
    public var scalar: String? {
        if case .scalar(let text) = value { return text }
        return nil
    }

    /// A short name of the node's kind, for error messages.
    public var kindName: String {
        switch value {
        case .scalar: return "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}
