import MQTT

extension BufferedRecord {
    /// The MQTT message that carries this record on `stream`: the device's sequence number, boot epoch,
    /// capture time and stream as user properties, and a message expiry from its remaining TTL at `now`.
    func message(on stream: StreamConfiguration, now: Int64) -> MQTTMessage {
        let remaining = max(1, (expiresMilliseconds - now + 999) / 1000)
        return MQTTMessage(
            topic: stream.topic, payload: payload, qos: stream.qos,
            userProperties: [
                UserProperty("seq", String(sequence)), UserProperty("epoch", String(epoch)),
                UserProperty("captured", String(capturedMilliseconds)),
                UserProperty("stream", stream.name),
            ],
            messageExpiry: UInt32(min(remaining, Int64(UInt32.max))))
    }
}
