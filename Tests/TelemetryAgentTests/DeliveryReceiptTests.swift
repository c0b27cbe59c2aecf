import Foundation
import MQTT
import TelemetryAgent
import TelemetryIngest
import TestSupport
import Testing

/// End-to-end delivery receipts (docs/receipts.md): with `"confirm": "consumer"` a record leaves the
/// agent's buffer only when the consumer says it has committed it, so a broker killed while it holds
/// acknowledged records for the consumer loses nothing.
@Suite(.serialized) struct DeliveryReceiptTests {
    /// The same 10,000-record run as `tenThousandQoS1RecordsSurviveTwoBrokerKillsWithNothingMissing`, but
    /// produced as fast as the agent goes, and the broker is SIGKILLed while the consumer lags far behind.
    @Test func consumerConfirmedRecordsSurviveBrokerKillsUnderFullLoadWithNothingMissing() throws {
        let run = try BrokerKillRun(device: "dev-rc", confirm: "consumer", total: 10_000, killsAt: [2_500, 6_000])
        // The agent empties its buffer only on receipts: every record it held is in the consumer's store.
        #expect(waitUntil(timeout: 120) { run.agent.status().backlog == 0 })
        let report = try run.finish()
        #expect(report.received == run.total)
        #expect(report.missing == [])
        #expect(report.firstSequence == 1)
        #expect(report.lastSequence == Int64(run.total))
        let status = run.agent.status()
        #expect(status.delivered == Int64(run.total))
        #expect(status.awaitingReceipt == 0)
        #expect(status.dropped == 0)
        #expect(status.rejected == 0)
        print(
            "consumer confirmation, broker killed under load: received \(report.received) of \(run.total), "
                + "missing \(report.missingCount), duplicates dropped \(report.duplicates)")
    }

    /// The control: the same unthrottled run with broker confirmation. The agent counts every record
    /// delivered and empties its buffer whatever the consumer got; how many the kill took depends on
    /// timing, so the test records it rather than asserting it.
    @Test func brokerConfirmationCountsRecordsDeliveredThatAKilledBrokerMayHaveLost() throws {
        let run = try BrokerKillRun(device: "dev-rb", confirm: "broker", total: 5_000, killsAt: [1_500])
        #expect(waitUntil(timeout: 60) { run.agent.status().backlog == 0 })
        #expect(run.agent.status().delivered == Int64(run.total))
        #expect(run.agent.status().awaitingReceipt == 0)
        // Whatever the consumer still gets arrives soon after the agent's last acknowledgement.
        var last = -1
        _ = waitUntil(timeout: 20) {
            let stored = run.ingest.counts.stored
            defer { last = stored }
            usleep(500_000)
            return stored == last
        }
        let report = try run.finish()
        #expect(report.received <= run.total)
        let lost = run.total - report.received
        print(
            "broker confirmation, broker killed under load: the agent counted \(run.total) delivered; the "
                + "consumer stored \(report.received), lost \(lost) (missing ranges \(report.missing))")
    }

    @Test func aReceiptThatNeverComesMakesTheAgentSendAgainAfterTheTimeout() throws {
        let broker = try DeliveryBroker()
        let streams = """
            [{ "name": "host", "qos": 1 }, { "name": "alarms", "qos": 2, "priority": "critical" },
             { "name": "bulk", "qos": 0, "priority": "bulk" },
             { "name": "stolen", "qos": 1, "topic": "fleet/other-device/telemetry/x" }]
            """
        let bundle = try DeviceBundle(
            device: "dev-t", broker: broker, streams: streams,
            delivery: ", \"confirm\": \"consumer\", \"receiptTimeout\": \"1s\"")
        // A watcher sees what the agent sends; nobody sends receipts.
        let seen = MessageLog()
        let watcher = try broker.watcher(seen)
        defer { watcher.disconnect() }
        try watcher.subscribe("fleet/dev-t/telemetry/#", qos: 1)
        #expect(waitUntil(timeout: 10) { seen.subscribed == 1 })

        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        #expect(waitUntil(timeout: 20) { broker.broker.log.contains("dev-t 1 fleet/dev-t/receipt") })
        let outcomes = agent.submit(
            records(4) + records(1, stream: "alarms") + records(2, stream: "bulk") + records(1, stream: "stolen"))
        let waiting = outcomes.prefix(5).compactMap(\.sequence)
        #expect(waiting.count == 5)

        // Each QoS 1/2 record goes again once its receipt is overdue; QoS 0 never waits; K09 still holds.
        func copies(_ sequence: Int64) -> Int {
            seen.messages.filter { $0.userProperty("seq") == String(sequence) }.count
        }
        #expect(waitUntil(timeout: 30) { waiting.allSatisfy { copies($0) >= 3 } })
        #expect(waitUntil(timeout: 10) { agent.status().awaitingReceipt == 5 })
        let status = agent.status()
        #expect(status.backlog == 5)
        #expect(status.delivered == 2)
        #expect(status.rejected == 1)
        #expect(try RecordBuffer(configuration: bundle.configuration()).rejectedRecords().map(\.reason) == [0x87])
        let metrics = bundle.directory.file("agent.prom")
        #expect(
            waitUntil(timeout: 10) {
                let text = (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? ""
                return text.contains("fleet_agent_awaiting_receipt_records{device=\"dev-t\"} 5")
            })
        let statusCommand = try runCommand(
            builtProduct("fleet-agent"), ["status", "--config", bundle.configPath, "--json"])
        #expect(statusCommand.standardOutput.contains("\"awaitingReceipt\":"), "\(statusCommand)")

        // A receipt the agent cannot read changes nothing; a real one confirms exactly what it names.
        let consumer = try broker.watcher(MessageLog(), identity: "ingest")
        defer { consumer.disconnect() }
        try consumer.publish(MQTTMessage(topic: "fleet/dev-t/receipt", payload: Array("{\"epoch\":".utf8)))
        let partial = DeliveryReceipt(epoch: agent.bootEpoch, ranges: [waiting[0]...waiting[1]])
        try consumer.publish(MQTTMessage(topic: "fleet/dev-t/receipt", payload: partial.payload))
        #expect(waitUntil(timeout: 10) { agent.status().backlog == 3 && agent.status().delivered == 4 })
        let rest = DeliveryReceipt(epoch: agent.bootEpoch, ranges: [waiting[2]...waiting[4]])
        try consumer.publish(MQTTMessage(topic: "fleet/dev-t/receipt", payload: rest.payload))
        #expect(waitUntil(timeout: 10) { agent.status().backlog == 0 })
        #expect(agent.status().delivered == 7)
        #expect(agent.status().awaitingReceipt == 0)
        #expect(agent.status().dropped == 0)
    }

    @Test func theIngestConfirmsADuplicateAgainAndIgnoresTopicsWithoutADeviceID() throws {
        let broker = try DeliveryBroker(withACL: false)
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        defer { ingest.stop() }
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        let log = MessageLog()
        let device = try broker.watcher(log, identity: "dev-u")
        defer { device.disconnect() }
        try device.subscribe("fleet/+/receipt", qos: 1)
        #expect(waitUntil(timeout: 10) { log.subscribed == 1 })

        func send(_ sequence: Int64, topic: String = "fleet/dev-u/telemetry/host") throws {
            try device.publish(
                MQTTMessage(
                    topic: topic, payload: [1],
                    userProperties: [UserProperty("seq", String(sequence)), UserProperty("epoch", "7")]))
        }
        func receipts() -> [(topic: String, receipt: DeliveryReceipt)] {
            log.messages.compactMap { message in
                (try? DeliveryReceipt(payload: message.payload)).map { (message.topic, $0) }
            }
        }
        try send(1)
        #expect(waitUntil(timeout: 10) { receipts().count == 1 })
        try send(1)
        #expect(waitUntil(timeout: 10) { receipts().count == 2 })
        for copy in receipts() {
            #expect(copy.topic == "fleet/dev-u/receipt")
            #expect(copy.receipt == DeliveryReceipt(epoch: 7, ranges: [1...1]))
        }
        // Messages on topics whose device level breaks the id rules are neither stored nor confirmed.
        let tooLong = String(repeating: "d", count: 65)
        for topic in ["fleet/a..b/telemetry/host", "fleet/-x/telemetry/host", "fleet/\(tooLong)/telemetry/host"] {
            try send(2, topic: topic)
        }
        for sequence: Int64 in 3...5 { try send(sequence) }
        #expect(waitUntil(timeout: 10) { receipts().flatMap(\.receipt.ranges).contains { $0.contains(5) } })
        #expect(receipts().allSatisfy { $0.topic == "fleet/dev-u/receipt" })
        let covered = Set(receipts().flatMap(\.receipt.ranges).flatMap { Array($0) })
        #expect(covered == [1, 3, 4, 5])
        let report = try IngestStore(path: scratch.file("ingest.db")).report()
        #expect(report.map(\.device) == ["dev-u"])
        #expect(report.first?.received == 4)
        #expect(report.first?.duplicates == 1)
    }
}

/// One unthrottled run: a persistent broker, the ingest, an agent with `confirm`, a producer submitting
/// `total` records as fast as the agent takes them, and the broker SIGKILLed and restarted each time the
/// consumer has stored one of `killsAt`.
final class BrokerKillRun {
    let broker: DeliveryBroker
    let scratch: TemporaryDirectory
    let ingest: TelemetryIngest
    let bundle: DeviceBundle
    let agent: TelemetryAgent
    let total: Int

    init(device: String, confirm: String, total: Int, killsAt: [Int]) throws {
        let broker = try DeliveryBroker(persistent: true)
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: broker.persistenceFile) })
        let bundle = try DeviceBundle(
            device: device, broker: broker, delivery: ", \"confirm\": \"\(confirm)\", \"receiptTimeout\": \"5s\"")
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        (self.broker, self.scratch, self.ingest, self.bundle, self.agent, self.total) =
            (broker, scratch, ingest, bundle, agent, total)
        agent.start()
        let accepted = LockedCounter()
        let producer = Thread {
            for batch in 0..<(total / 100) {
                accepted.add(agent.submit(records(100, start: batch * 100)).filter { $0.sequence != nil }.count)
            }
        }
        producer.start()
        for threshold in killsAt {
            #expect(waitUntil(timeout: 60) { ingest.counts.stored >= threshold })
            // The moment of the kill: records in flight, others acknowledged and queued for the consumer.
            broker.broker.kill()
            try broker.broker.start()
        }
        #expect(waitUntil(timeout: 60) { accepted.value == total })
    }

    /// Stops the agent and the consumer; returns the consumer's report for the device.
    func finish() throws -> DeviceReport {
        agent.stop()
        ingest.stop()
        return try #require(try IngestStore(path: scratch.file("ingest.db")).report().first)
    }

    deinit {
        agent.stop()
        ingest.stop()
    }
}
