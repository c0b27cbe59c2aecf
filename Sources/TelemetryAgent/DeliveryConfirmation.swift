/// What lets the agent delete a delivered record from its buffer (`delivery.confirm` in agent.json).
///
/// Mosquitto acknowledges a QoS 1/2 publish before the message has reached any consumer or its own disk,
/// so a broker killed at the wrong moment loses records it already acknowledged. `consumer` closes that
/// gap: a record waits, still in the buffer, until the consumer says it has stored it (docs/receipts.md).
/// It is not the default because a consumer that never sends receipts would make the agent send every
/// record again and again until its TTL runs out or the buffer evicts it.
public enum DeliveryConfirmation: String, Sendable, CaseIterable {
    /// The broker's PUBACK/PUBCOMP with a reason below 0x80 confirms a record (the MQTT guarantee).
    case broker
    /// A receipt from the consumer on `fleet/<device>/receipt` confirms a QoS 1/2 record; the broker's
    /// acknowledgement only moves it to the awaiting-receipt state. QoS 0 records never wait.
    case consumer
}
