import CMosquitto

/// An outgoing MQTT v5 property list. It owns the `mosquitto_property*` chain and frees it in `deinit`
/// unless `release()` handed it to libmosquitto.
final class PropertyList {
    var head: OpaquePointer?

    init() {}

    deinit { mosquitto_property_free_all(&head) }

    /// Gives up ownership: libmosquitto (`will_set_v5`) frees the chain from now on.
    func release() -> OpaquePointer? {
        defer { head = nil }
        return head
    }

    func addUser(_ name: String, _ value: String) throws(MQTTError) {
        try check(
            mosquitto_property_add_string_pair(&head, Int32(MQTT_PROP_USER_PROPERTY.rawValue), name, value),
            "adding user property '\(name)'")
    }

    func addInt32(_ identifier: mqtt5_property, _ value: UInt32) throws(MQTTError) {
        try check(
            mosquitto_property_add_int32(&head, Int32(identifier.rawValue), value), "adding property \(identifier)")
    }

    func addString(_ identifier: mqtt5_property, _ value: String) throws(MQTTError) {
        try check(
            mosquitto_property_add_string(&head, Int32(identifier.rawValue), value), "adding property \(identifier)")
    }

    func addBinary(_ identifier: mqtt5_property, _ value: [UInt8]) throws(MQTTError) {
        let status = value.withUnsafeBytes { buffer in
            mosquitto_property_add_binary(&head, Int32(identifier.rawValue), buffer.baseAddress, UInt16(buffer.count))
        }
        try check(status, "adding property \(identifier)")
    }

    /// The properties of an outgoing PUBLISH (or will) carrying `message`'s v5 fields.
    static func forMessage(_ message: MQTTMessage) throws(MQTTError) -> PropertyList {
        let list = PropertyList()
        for property in message.userProperties { try list.addUser(property.name, property.value) }
        if let expiry = message.messageExpiry { try list.addInt32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, expiry) }
        if let topic = message.responseTopic { try list.addString(MQTT_PROP_RESPONSE_TOPIC, topic) }
        if let data = message.correlationData { try list.addBinary(MQTT_PROP_CORRELATION_DATA, data) }
        return list
    }

    /// `action` is only formed on failure: describing an imported C enum costs more than the call itself.
    private func check(_ status: Int32, _ action: @autoclosure () -> String) throws(MQTTError) {
        guard status == Int32(MOSQ_ERR_SUCCESS.rawValue) else { throw .mosquitto(status, action()) }
    }
}

/// Reads the v5 fields of an incoming message's property chain (borrowed, not freed here).
func readMessageProperties(_ chain: OpaquePointer?, into message: inout MQTTMessage) {
    var property = chain
    while let current = property {
        switch UInt32(mosquitto_property_identifier(current)) {
        case MQTT_PROP_USER_PROPERTY.rawValue:
            var name: UnsafeMutablePointer<CChar>?
            var value: UnsafeMutablePointer<CChar>?
            _ = mosquitto_property_read_string_pair(
                current, Int32(MQTT_PROP_USER_PROPERTY.rawValue), &name, &value, false)
            if let name, let value {
                message.userProperties.append(UserProperty(String(cString: name), String(cString: value)))
            }
            free(name)
            free(value)
        case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue:
            var value: UInt32 = 0
            _ = mosquitto_property_read_int32(current, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), &value, false)
            message.messageExpiry = value
        case MQTT_PROP_RESPONSE_TOPIC.rawValue:
            var value: UnsafeMutablePointer<CChar>?
            _ = mosquitto_property_read_string(current, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &value, false)
            if let value { message.responseTopic = String(cString: value) }
            free(value)
        case MQTT_PROP_CORRELATION_DATA.rawValue:
            var value: UnsafeMutableRawPointer?
            var length: UInt16 = 0
            _ = mosquitto_property_read_binary(
                current, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &value, &length, false)
            if let value { message.correlationData = Array(UnsafeRawBufferPointer(start: value, count: Int(length))) }
            free(value)
        default:
            break
        }
        property = mosquitto_property_next(current)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
