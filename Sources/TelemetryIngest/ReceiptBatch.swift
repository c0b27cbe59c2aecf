import FleetIdentity
/// The sequence numbers stored since the last receipts were sent, per device and boot epoch, and when the
/// oldest of them was stored. `fleetctl ingest` turns them into receipts on `fleet/<device>/receipt`
/// (docs/receipts.md): `{"epoch": E, "ranges": [[first, last], ...]}`.
struct ReceiptBatch {
    private var stored: [String: [Int64: [Int64]]] = [:]
    private var largest = 0
    /// Monotonic seconds when the oldest unsent key was added; nil when empty.
    private(set) var since: Double?

    /// Notes that (device, epoch, seq) is committed, whether stored now or a duplicate of a stored one.
    mutating func add(device: String, epoch: Int64, sequence: Int64, now: Double) {
        stored[device, default: [:]][epoch, default: []].append(sequence)
        largest = max(largest, stored[device]?[epoch]?.count ?? 0)
        if since == nil { since = now }
    }

    /// True when receipts are due: the oldest key waited `interval` seconds, or one device has `count` keys.
    func isDue(now: Double, interval: Double, count: Int) -> Bool {
        guard let since else { return false }
        return now - since >= interval || largest >= count
    }

    /// The receipts to send, one per (device, epoch), and an empty batch.
    mutating func take() -> [(topic: String, payload: [UInt8])] {
        defer {
            stored.removeAll()
            largest = 0
            since = nil
        }
        return stored.sorted { $0.key < $1.key }.flatMap { device, epochs in
            epochs.sorted { $0.key < $1.key }.map { epoch, sequences in
                (topic: "fleet/\(device)/receipt", payload: Self.payload(epoch: epoch, sequences: sequences))
            }
        }
    }

    /// `{"epoch":E,"ranges":[[first,last],...]}` for `sequences` (any order, repeats allowed).
    static func payload(epoch: Int64, sequences: [Int64]) -> [UInt8] {
        var ranges: [(Int64, Int64)] = []
        for sequence in Set(sequences).sorted() {
            if let last = ranges.last, last.1 + 1 == sequence {
                ranges[ranges.count - 1].1 = sequence
            } else {
                ranges.append((sequence, sequence))
            }
        }
        let text = ranges.map { "[\($0.0),\($0.1)]" }.joined(separator: ",")
        return Array("{\"epoch\":\(epoch),\"ranges\":[\(text)]}".utf8)
    }

    /// Whether `text` is a device id of the fleet's conventions (`IdentityRule`).
    static func isDeviceID(_ text: Substring) -> Bool { IdentityRule.isValid(text) }
}
