/// One MQTT v5 application message, outgoing or received.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    /// 0, 1 or 2.
    public var qos: Int
    public var retain: Bool
    /// MQTT v5 user properties, in order; names may repeat.
    public var userProperties: [UserProperty]
    /// The message expiry interval in seconds, or nil for none.
    public var messageExpiry: UInt32?
    /// Request/response: where the answer goes.
    public var responseTopic: String?
    /// Request/response: opaque data the answer echoes.
    public var correlationData: [UInt8]?

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
    public let name: String
    public let value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
