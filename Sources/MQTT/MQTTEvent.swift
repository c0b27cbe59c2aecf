/// What a connection reports, delivered on libmosquitto's network thread in the order it happened.
public enum MQTTEvent: Sendable {
    /// The CONNACK arrived. A failure reason means the connection is over.
    case connected(reason: ReasonCode, sessionPresent: Bool)
    /// The connection ended. `code` is libmosquitto's (0 after our own disconnect) or the broker's
    /// DISCONNECT reason; `expected` is true when this client asked for it.
    case disconnected(code: Int, expected: Bool)
    /// A publish finished: QoS 0 once written, QoS 1 on PUBACK, QoS 2 on PUBCOMP or on a failing PUBREC.
    /// `tag` is the value given to `publish`.
    case published(tag: UInt64, messageID: Int32, reason: ReasonCode)
    /// A message arrived on a subscription.
    case message(MQTTMessage)
    /// A SUBACK: the granted QoS (or failure reason) of each filter.
    case subscribed(messageID: Int32, granted: [ReasonCode])
}
