#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Any JSON value, decoded without a schema (FoundationEssentials has no JSONSerialization).
public enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue], order: [String])

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes whatever JSON value comes.
    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var members: [String: JSONValue] = [:]
            var order: [String] = []
            for key in keyed.allKeys {
                members[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key)
                order.append(key.stringValue)
            }
            self = .object(members, order: order)
            return
        }
        if var list = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !list.isAtEnd { values.append(try list.decode(JSONValue.self)) }
            self = .array(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Double.self) {
            self = .number(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }
}

/// A JSON object read key by key; `finish()` refuses keys nobody read, naming the first one.
struct JSONObject {
    let members: [String: JSONValue]
    let order: [String]
    let path: String
    private(set) var read: Set<String> = []

    init(_ value: JSONValue, path: String) throws(AgentError) {
        guard case .object(let members, let order) = value else {
            throw AgentError("'\(path.isEmpty ? "the top level" : path)' must be a JSON object")
        }
        self.members = members
        self.order = order
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    mutating func string(_ key: String) throws(AgentError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw AgentError("'\(name(key))' must be a string") }
        return text
    }

    mutating func requiredString(_ key: String) throws(AgentError) -> String {
        guard let text = try string(key) else { throw AgentError("'\(name(key))' is required") }
        return text
    }

    mutating func int(_ key: String) throws(AgentError) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 else {
            throw AgentError("'\(name(key))' must be a whole number, not \(value)")
        }
        return Int(number)
    }

    mutating func bool(_ key: String) throws(AgentError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw AgentError("'\(name(key))' must be true or false") }
        return flag
    }

    mutating func duration(_ key: String) throws(AgentError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let seconds = DurationValue.seconds(text) else {
            throw AgentError("'\(name(key))' is not a duration: '\(text)' (write 250ms, 30s, 10m, 12h, 7d)")
        }
        return seconds
    }

    mutating func object(_ key: String) throws(AgentError) -> JSONObject? {
        guard let value = value(key) else { return nil }
        return try JSONObject(value, path: name(key))
    }

    func finish() throws(AgentError) {
        if let unknown = order.first(where: { !read.contains($0) }) {
            throw AgentError("unknown key '\(name(unknown))'")
        }
    }
}
