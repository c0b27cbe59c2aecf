import MQTT

/// The agent loop's side of `confirm: consumer`: which acknowledged records wait for a receipt, the
/// receipts that arrived, and when to look for records whose receipt is overdue. Used by the loop thread only.
///
/// The tag handed to libmosquitto with each publish is the record's row id, with `awaitsReceipt` set when
/// its acknowledgement must not delete it (a QoS 1/2 record in consumer mode); so a late acknowledgement
/// from an earlier connection is still settled the right way.
struct ReceiptLedger {
    /// Whether records wait for receipts at all (`delivery.confirm` is `consumer`).
    let enabled: Bool
    /// `fleet/<device>/receipt`.
    let topic: String
    /// Seconds an acknowledged record waits for its receipt before it is sent again.
    let timeout: Double
    /// Rows the broker acknowledged since the last commit; they move to the awaiting state.
    var acknowledged: [Int64] = []
    /// Receipts that arrived since the last commit.
    var receipts: [DeliveryReceipt] = []
    private var nextOverdueCheck = 0.0

    private static let awaitsReceipt: UInt64 = 1 << 62

    init(configuration: AgentConfiguration) {
        enabled = configuration.delivery.confirm == .consumer
        topic = "fleet/\(configuration.device)/receipt"
        timeout = configuration.delivery.receiptTimeout
    }

    /// The publish tag of row `id` sent at `qos`.
    func tag(id: Int64, qos: Int) -> UInt64 {
        enabled && qos > 0 ? UInt64(id) | Self.awaitsReceipt : UInt64(id)
    }

    /// The row id of a tag, and whether its acknowledgement leaves it awaiting a receipt.
    static func record(tag: UInt64) -> (id: Int64, awaitsReceipt: Bool) {
        (Int64(tag & ~awaitsReceipt), tag & awaitsReceipt != 0)
    }

    /// Takes `message` when it is a receipt for this device (true), reporting one it cannot read.
    mutating func accept(_ message: MQTTMessage, log: (String) -> Void) -> Bool {
        guard enabled, message.topic == topic else { return false }
        do {
            receipts.append(try DeliveryReceipt(payload: message.payload))
        } catch {
            log("receipt ignored error=\(error.message)")
        }
        return true
    }

    /// True when acknowledgements or receipts wait to be committed.
    var hasWork: Bool { !acknowledged.isEmpty || !receipts.isEmpty }

    /// Acknowledgements and receipt ranges waiting to be committed.
    var count: Int { acknowledged.count + receipts.reduce(0) { $0 + $1.ranges.count } }

    /// Empties the ledger once its content is committed.
    mutating func clear() {
        acknowledged.removeAll()
        receipts.removeAll()
    }

    /// When a look for overdue records is due (at most every quarter of the timeout, and every second),
    /// the acknowledgement time before which a record is overdue, in ms since 1970.
    mutating func overdueThreshold(now: Double, wallMilliseconds: Int64) -> Int64? {
        guard enabled, now >= nextOverdueCheck else { return nil }
        nextOverdueCheck = now + min(1, timeout / 4)
        return wallMilliseconds - Int64(timeout * 1000)
    }
}
