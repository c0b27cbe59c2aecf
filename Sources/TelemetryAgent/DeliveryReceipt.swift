#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A consumer's statement that it has durably stored some of a device's records: the sequence numbers in
/// `ranges`, all of boot epoch `epoch`. Sent on `fleet/<device>/receipt` as
/// `{"epoch": E, "ranges": [[first, last], ...]}` (docs/receipts.md).
public struct DeliveryReceipt: Sendable, Equatable {
    /// The boot epoch the records were accepted in.
    public var epoch: Int64
    /// Inclusive ranges of sequence numbers.
    public var ranges: [ClosedRange<Int64>]

    /// A receipt for `ranges` of `epoch`.
    public init(epoch: Int64, ranges: [ClosedRange<Int64>]) {
        self.epoch = epoch
        self.ranges = ranges
    }

    private struct Wire: Codable {
        var epoch: Int64
        var ranges: [[Int64]]
    }

    /// Reads a receipt's payload; throws naming what is wrong with it.
    public init(payload: [UInt8]) throws(AgentError) {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(payload))
        } catch {
            let shown = String(decoding: payload.prefix(80), as: UTF8.self)
            throw AgentError("receipt '\(shown)' is not {\"epoch\": E, \"ranges\": [[first, last], ...]}")
        }
        var ranges: [ClosedRange<Int64>] = []
        for pair in wire.ranges {
            guard pair.count == 2, pair[0] <= pair[1] else {
                throw AgentError("receipt range \(pair) is not [first, last] with first <= last")
            }
            ranges.append(pair[0]...pair[1])
        }
        self.init(epoch: wire.epoch, ranges: ranges)
    }

    /// The receipt as compact JSON.
    public var payload: [UInt8] {
        let ranges = self.ranges.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",")
        return Array("{\"epoch\":\(epoch),\"ranges\":[\(ranges)]}".utf8)
    }
}
