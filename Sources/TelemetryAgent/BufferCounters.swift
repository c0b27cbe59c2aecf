/// What the buffer has done with records since it was created, persisted in the buffer itself.
/// Every record that left other than by delivery is counted here; nothing is dropped silently.
public struct BufferCounters: Sendable, Equatable, Codable {
    /// Records acknowledged to their producers.
    public var accepted: Int64 = 0
    /// Records confirmed: acknowledged by the broker with a success reason (below 0x80), or with
    /// `confirm: consumer` covered by a consumer's receipt.
    public var delivered: Int64 = 0
    /// Records the broker refused (reason 0x80 or above); they are kept in the rejected table.
    public var rejected: Int64 = 0
    /// Records removed to make room, by priority.
    public var evictedBulk: Int64 = 0
    /// Normal records removed to make room.
    public var evictedNormal: Int64 = 0
    /// Critical records removed to make room.
    public var evictedCritical: Int64 = 0
    /// Records whose TTL ran out before delivery.
    public var expired: Int64 = 0
    /// Records never accepted: too large, buffer full of higher-priority data, disk full, unknown stream.
    public var refused: Int64 = 0
    /// Damaged buffer files moved aside (K13).
    public var setAside: Int64 = 0

    /// All counters at zero.
    public init() {}

    /// All records lost before delivery (evicted, expired, refused).
    public var dropped: Int64 { evictedBulk + evictedNormal + evictedCritical + expired + refused }

    static var names: [(String, WritableKeyPath<BufferCounters, Int64>)] {
        [
            ("accepted", \.accepted), ("delivered", \.delivered), ("rejected", \.rejected),
            ("evicted_bulk", \.evictedBulk), ("evicted_normal", \.evictedNormal),
            ("evicted_critical", \.evictedCritical),
            ("expired", \.expired), ("refused", \.refused), ("set_aside", \.setAside),
        ]
    }

    mutating func addEviction(_ priority: Priority) {
        switch priority {
        case .bulk: evictedBulk += 1
        case .normal: evictedNormal += 1
        case .critical: evictedCritical += 1
        }
    }
}
