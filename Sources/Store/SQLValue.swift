/// One value bound to a statement parameter or read from a result column.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue {
    /// An integer column, or nil for NULL and other types.
    public var int64: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// A text column, or nil for NULL and other types.
    public var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// A blob column (text is returned as its UTF-8 bytes), or nil for NULL and numbers.
    public var bytes: [UInt8]? {
        switch self {
        case .blob(let value): return value
        case .text(let value): return Array(value.utf8)
        default: return nil
        }
    }

    /// A real or integer column as a Double, or nil.
    public var double: Double? {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    public static func from(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    public static func from(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
}
