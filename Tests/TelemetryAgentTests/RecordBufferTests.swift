import Foundation
import TelemetryAgent
import TestSupport
import Testing

@Suite struct RecordBufferTests {
    let streams = [
        StreamConfiguration(name: "bulk", topic: "fleet/d/telemetry/bulk", qos: 0, priority: .bulk, ttl: 3600),
        StreamConfiguration(name: "host", topic: "fleet/d/telemetry/host", qos: 1, priority: .normal, ttl: 3600),
        StreamConfiguration(name: "alarms", topic: "fleet/d/telemetry/alarms", qos: 2, priority: .critical, ttl: 3600),
    ]

    func open(_ directory: TemporaryDirectory, rows: Int, bytes: Int) throws -> RecordBuffer {
        try RecordBuffer(
            path: directory.file("buffer.db"), durability: .process,
            limits: .init(maxRows: rows, maxBytes: bytes), streams: streams)
    }

    @Test func rowLimitHoldsExactlyUnderSustainedOverflow() throws {
        let directory = try TemporaryDirectory()
        let buffer = try open(directory, rows: 100, bytes: 1_000_000)
        var accepted = 0
        for round in 0..<50 {
            let outcomes = buffer.append(records(37, stream: "host", start: round * 37), now: 1_000)
            accepted += outcomes.filter { $0.sequence != nil }.count
            let counted = try buffer.recount()
            #expect(counted.rows <= 100)
            #expect(try buffer.snapshot(now: 1_000).rows == counted.rows)
        }
        let snapshot = try buffer.snapshot(now: 1_000)
        #expect(accepted == 50 * 37)
        #expect(snapshot.rows == 100)
        #expect(snapshot.counters.evictedNormal == Int64(50 * 37 - 100))
        // The survivors are the newest, in order.
        let pending = try buffer.pending(after: 0, limit: 1000, now: 1_000)
        #expect(pending.map(\.sequence) == Array(Int64(50 * 37 - 99)...Int64(50 * 37)))
    }

    @Test func byteLimitHoldsExactly() throws {
        let directory = try TemporaryDirectory()
        let buffer = try open(directory, rows: 1_000_000, bytes: 1_000)
        for round in 0..<40 {
            let payload = [UInt8](repeating: UInt8(round), count: 1 + (round * 7) % 90)
            _ = buffer.append([IncomingRecord(stream: "host", payload: payload)], now: 1_000)
            let counted = try buffer.recount()
            #expect(counted.bytes <= 1_000)
            #expect(try buffer.snapshot(now: 1_000).bytes == counted.bytes)
        }
        let tooLarge = buffer.append(
            [IncomingRecord(stream: "host", payload: [UInt8](repeating: 1, count: 1_001))],
            now: 1_000)
        guard case .refused(let reason)? = tooLarge.first else {
            Issue.record("a record above maxBytes was accepted")
            return
        }
        #expect(reason.contains("1001"))
        #expect(try buffer.snapshot(now: 1_000).counters.refused == 1)
    }

    @Test func evictionTakesBulkThenNormalThenCriticalOldestFirst() throws {
        let directory = try TemporaryDirectory()
        let buffer = try open(directory, rows: 6, bytes: 1_000_000)
        _ = buffer.append(
            records(2, stream: "alarms") + records(2, stream: "host") + records(2, stream: "bulk"), now: 1)
        // Two critical records: the two bulk go first.
        _ = buffer.append(records(2, stream: "alarms", start: 10), now: 2)
        var snapshot = try buffer.snapshot(now: 2)
        #expect(snapshot.counters.evictedBulk == 2)
        #expect(snapshot.counters.evictedNormal == 0)
        // Three more critical: the two normal, then the oldest critical.
        _ = buffer.append(records(3, stream: "alarms", start: 20), now: 3)
        snapshot = try buffer.snapshot(now: 3)
        #expect(snapshot.counters.evictedNormal == 2)
        #expect(snapshot.counters.evictedCritical == 1)
        let left = try buffer.pending(after: 0, limit: 10, now: 3).map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(left == ["{\"n\":1}", "{\"n\":10}", "{\"n\":11}", "{\"n\":20}", "{\"n\":21}", "{\"n\":22}"])
        // A bulk record cannot push out critical data: it is refused and counted.
        let outcome = buffer.append(records(1, stream: "bulk", start: 30), now: 4)
        #expect(outcome.first?.sequence == nil)
        #expect(try buffer.snapshot(now: 4).counters.refused == 1)
        #expect(try buffer.recount().rows == 6)
    }

    @Test func expiredRecordsAreCountedAndNeverHandedOut() throws {
        let directory = try TemporaryDirectory()
        let buffer = try open(directory, rows: 100, bytes: 100_000)
        let now: Int64 = 10_000_000
        // Captured two hours ago with a one-hour TTL: expired on arrival at the next settlement.
        let old = (0..<5).map { _ in IncomingRecord(stream: "host", payload: [1], capturedMilliseconds: now - 7_200_000)
        }
        _ = buffer.append(old + records(3), now: now)
        #expect(try buffer.pending(after: 0, limit: 100, now: now).count == 3)
        try buffer.settle(delivered: [], rejected: [], now: now)
        let snapshot = try buffer.snapshot(now: now)
        #expect(snapshot.counters.expired == 5)
        #expect(snapshot.rows == 3)
        #expect(snapshot.counters.dropped == 5)
    }

    @Test func sequenceAndCountersSurviveReopening() throws {
        let directory = try TemporaryDirectory()
        do {
            let buffer = try open(directory, rows: 2, bytes: 1_000)
            let epoch = try buffer.beginEpoch()
            _ = buffer.append(records(5), now: 1)
            #expect(try buffer.snapshot(now: 1).epoch == epoch)
        }
        let reopened = try open(directory, rows: 2, bytes: 1_000)
        let previous = try reopened.snapshot(now: 1)
        let epoch = try reopened.beginEpoch()
        #expect(epoch > previous.epoch)
        #expect(reopened.append(records(1), now: 2).first?.sequence == 6)
        #expect(try reopened.snapshot(now: 2).counters.evictedNormal == 4)
    }

    @Test(arguments: ["truncated", "garbage"])
    func damagedBufferIsSetAsideReportedAndReplaced(damage: String) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("buffer.db")
        do {
            let buffer = try open(directory, rows: 100_000, bytes: 100_000_000)
            let payload = [UInt8](repeating: 7, count: 500)
            _ = buffer.append((0..<2000).map { _ in IncomingRecord(stream: "host", payload: payload) }, now: 1)
            buffer.close()
        }
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        if damage == "truncated" {
            try original.prefix(original.count / 3).write(to: URL(fileURLWithPath: path))
        } else {
            var bytes = original
            for index in stride(from: 0, to: bytes.count, by: 97) { bytes[index] = 0xA5 }
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        let reports = NSMutableArray()
        let buffer = try RecordBuffer(
            path: path, durability: .process, limits: .init(maxRows: 10, maxBytes: 10_000),
            streams: streams, report: { reports.add($0) })
        let aside = try #require(buffer.setAsidePath)
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(reports.count == 1)
        #expect((reports.firstObject as? String)?.contains("set aside") == true)
        let snapshot = try buffer.snapshot(now: 1)
        #expect(snapshot.counters.setAside == 1)
        #expect(snapshot.setAsidePath == aside)
        #expect(buffer.append(records(1), now: 2).first?.sequence == 1)
    }
}

@Suite struct AwaitingReceiptBufferTests {
    let streams = [
        StreamConfiguration(name: "host", topic: "fleet/d/telemetry/host", qos: 1, priority: .normal, ttl: 3600),
        StreamConfiguration(name: "alarms", topic: "fleet/d/telemetry/alarms", qos: 2, priority: .critical, ttl: 3600),
    ]

    @Test func recordsAwaitingReceiptsStayWithinTheLimitsAndAreEvictedAndExpiredInOrder() throws {
        let directory = try TemporaryDirectory()
        let buffer = try RecordBuffer(
            path: directory.file("buffer.db"), durability: .process, limits: .init(maxRows: 10, maxBytes: 1_000),
            streams: streams)
        let epoch = try buffer.beginEpoch()
        _ = buffer.append(records(6) + records(4, stream: "alarms"), now: 1_000)
        let all = try buffer.pending(after: 0, limit: 100, now: 1_000)
        // The broker acknowledged the first eight: they await receipts, still held and counted.
        try buffer.settle(Settlement(acknowledged: all.prefix(8).map(\.id)), now: 2_000)
        var snapshot = try buffer.snapshot(now: 2_000)
        #expect(snapshot.rows == 10)
        #expect(snapshot.awaitingReceipt == 8)
        #expect(snapshot.counters.delivered == 0)
        #expect(try buffer.pending(after: 0, limit: 100, now: 2_000).map(\.sequence) == [9, 10])
        #expect(try buffer.overdue(acknowledgedBefore: 1_999, limit: 100, now: 2_000).isEmpty)
        #expect(try buffer.overdue(acknowledgedBefore: 2_000, limit: 100, now: 2_000).map(\.sequence) == Array(1...8))

        // Overflow evicts normal records first, awaiting or not, oldest first; the limits hold exactly.
        _ = buffer.append(records(3, stream: "alarms", start: 10), now: 3_000)
        snapshot = try buffer.snapshot(now: 3_000)
        #expect(snapshot.rows == 10)
        #expect(try buffer.recount().rows == 10)
        #expect(snapshot.counters.evictedNormal == 3)
        #expect(snapshot.awaitingReceipt == 5)

        // A receipt deletes what it names (awaiting or pending), counts it delivered, ignores other epochs.
        try buffer.settle(
            Settlement(receipts: [
                DeliveryReceipt(epoch: epoch, ranges: [4...5, 11...11]),
                DeliveryReceipt(epoch: epoch + 1, ranges: [6...6]),
            ]), now: 4_000)
        snapshot = try buffer.snapshot(now: 4_000)
        #expect(snapshot.rows == 7)
        #expect(snapshot.counters.delivered == 3)
        #expect(snapshot.awaitingReceipt == 3)

        // A new connection sends everything awaiting again; TTL still applies to all of it.
        #expect(try buffer.resendAwaiting() == 3)
        #expect(try buffer.snapshot(now: 4_000).awaitingReceipt == 0)
        try buffer.settle(Settlement(), now: 1_000 + 3_600_000)
        snapshot = try buffer.snapshot(now: 1_000 + 3_600_000)
        #expect(snapshot.counters.expired == 5)
        #expect(snapshot.rows == 2)
    }
}
