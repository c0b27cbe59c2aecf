/// What one commit of the agent's loop settles in the buffer, besides new records.
public struct Settlement: Sendable {
    /// Rows confirmed by the broker's acknowledgement (confirm `broker`, or QoS 0): deleted, counted delivered.
    public var delivered: [Int64] = []
    /// Rows the broker acknowledged that now wait for the consumer's receipt (confirm `consumer`).
    public var acknowledged: [Int64] = []
    /// Rows the broker refused, with the reason code: moved to the rejected table.
    public var rejected: [(id: Int64, reason: Int)] = []
    /// Receipts from the consumer: rows holding these keys are deleted and counted delivered.
    public var receipts: [DeliveryReceipt] = []

    /// A settlement of the given parts.
    public init(
        delivered: [Int64] = [], acknowledged: [Int64] = [], rejected: [(id: Int64, reason: Int)] = [],
        receipts: [DeliveryReceipt] = []
    ) {
        self.delivered = delivered
        self.acknowledged = acknowledged
        self.rejected = rejected
        self.receipts = receipts
    }

    /// Acknowledgements and receipt ranges held.
    public var count: Int {
        delivered.count + acknowledged.count + rejected.count + receipts.reduce(0) { $0 + $1.ranges.count }
    }

    /// True when there is nothing to settle.
    public var isEmpty: Bool { count == 0 }
}
