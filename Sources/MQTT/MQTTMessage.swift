/// One MQTT v5 application message, outgoing or received.
public struct MQTTMessage: Sendable, Equatable {
    /// The topic name (never a filter).
    public var topic: String
    /// The application payload, as bytes.
    public var payload: [UInt8]
    /// 0, 1 or 2.
    public var qos: Int
    /// Whether the broker keeps it as the topic's retained message.
    public var retain: Bool
    /// MQTT v5 user properties, in order; names may repeat.
    public var userProperties: [UserProperty]
    /// The message expiry interval in seconds, or nil for none.
    public var messageExpiry: UInt32?
    /// Request/response: where the answer goes.
    public var responseTopic: String?
    /// Request/response: opaque data the answer echoes.
    public var correlationData: [UInt8]?

    /// A message; only the topic and payload are required.
    public init(
        topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = false, userProperties: [UserProperty] = [],
        messageExpiry: UInt32? = nil, responseTopic: String? = nil, correlationData: [UInt8]? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.userProperties = userProperties
        self.messageExpiry = messageExpiry
        self.responseTopic = responseTopic
        self.correlationData = correlationData
    }

    /// The value of the first user property called `name`.
    public func userProperty(_ name: String) -> String? {
        userProperties.first { $0.name == name }?.value
    }
}

/// One MQTT v5 user property: a name and a value, both UTF-8.
public struct UserProperty: Sendable, Equatable {
    /// The property's name.
    public let name: String
    /// The property's value.
    public let value: String

    /// A property called `name` holding `value`.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
