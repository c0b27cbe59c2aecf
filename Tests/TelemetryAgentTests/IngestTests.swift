import Foundation
import TelemetryAgent
import TelemetryIngest
import TestSupport
import Testing

@Suite struct IngestTests {
    @Test func storeDropsAndCountsDuplicatesAndReportsMissingRanges() throws {
        let scratch = try TemporaryDirectory()
        let store = try IngestStore(path: scratch.file("ingest.db"))
        func put(_ epoch: Int64, _ sequence: Int64) throws -> IngestStore.Outcome {
            try store.store(
                device: "d1", epoch: epoch, sequence: sequence, stream: "host", topic: "fleet/d1/telemetry/host",
                captured: nil, receivedMilliseconds: 0, payload: [1])
        }
        for sequence: Int64 in [1, 2, 5, 6, 9] { #expect(try put(100, sequence) == .stored) }
        #expect(try put(100, 5) == .duplicate)
        #expect(try put(100, 5) == .duplicate)
        // A later boot epoch continues the sequence; 10 is missing at the boundary.
        for sequence: Int64 in [11, 12] { #expect(try put(101, sequence) == .stored) }
        // A new buffer file starts again at 1 under a newer epoch: no false gap.
        for sequence: Int64 in [1, 2] { #expect(try put(200, sequence) == .stored) }
        let report = try #require(try store.report().first)
        #expect(report.received == 9)
        #expect(report.duplicates == 2)
        #expect(report.missing == [3...4, 7...8, 10...10])
        #expect(report.missingCount == 5)
        #expect(report.epochs == 3)
    }

    @Test func fleetctlIngestReceivesTelemetryAndItsReportSaysNothingIsMissing() throws {
        let broker = try DeliveryBroker()
        let service = try broker.pki.service("ingest")
        let scratch = try TemporaryDirectory()
        let database = scratch.file("ingest.db")
        let consumer = Process()
        consumer.executableURL = URL(fileURLWithPath: builtProduct("fleetctl"))
        consumer.arguments = [
            "ingest", "--db", database, "--broker", "127.0.0.1:\(broker.port)", "--cert", service.fullChain,
            "--key", service.key, "--ca", service.ca, "--stream", "host:1", "--stream", "alarms:2",
        ]
        consumer.standardError = FileHandle.nullDevice
        try consumer.run()
        defer { if consumer.isRunning { consumer.terminate() } }
        #expect(waitUntil(timeout: 10) { broker.broker.log.contains("ingest 2 fleet/+/telemetry/alarms") })

        let bundle = try DeviceBundle(device: "dev-i", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        _ = agent.submit(records(30) + records(5, stream: "alarms"))
        #expect(waitUntil(timeout: 20) { agent.status().backlog == 0 && agent.status().delivered == 35 })
        consumer.terminate()
        consumer.waitUntilExit()
        #expect(consumer.terminationStatus == 0)

        let report = try runCommand(builtProduct("fleetctl"), ["ingest", "report", "--db", database, "--json"])
        #expect(report.status == 0, "\(report)")
        let devices = try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [[String: Any]]
        let device = try #require(devices?.first)
        #expect(device["device"] as? String == "dev-i")
        #expect(device["received"] as? Int == 35)
        #expect(device["missingCount"] as? Int == 0)
        let text = try runCommand(builtProduct("fleetctl"), ["ingest", "report", "--db", database])
        #expect(text.standardOutput.contains("dev-i\t35\t0\t0\t-"))
        let bad = try runCommand(builtProduct("fleetctl"), ["ingest", "--db", database, "--broker", "nowhere"])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("'nowhere'"))
    }

    @Test func agentStartsOnAGarbageBufferFileAndReportsIt() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "dev-j", broker: broker)
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: bundle.directory.file("buffer.db")))
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        let aside = try #require(agent.bufferSetAsidePath)
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(agent.submit(records(1)).first?.sequence == 1)
        #expect(agent.status().bufferSetAside == 1)
        #expect(agent.status().bufferSetAsidePath == aside)
    }
}
