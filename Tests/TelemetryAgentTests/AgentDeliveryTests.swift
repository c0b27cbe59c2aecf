import Foundation
import MQTT
import TelemetryAgent
import TelemetryIngest
import Testing
import TestSupport

@Suite(.serialized) struct AgentDeliveryTests {
    @Test func recordsReachTheIngestWithSequenceEpochAndCaptureTime() throws {
        let broker = try DeliveryBroker()
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        defer { ingest.stop() }
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        let bundle = try DeviceBundle(device: "dev-a", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        let outcomes = agent.submit(records(50))
        #expect(outcomes.allSatisfy { $0.sequence != nil })
        #expect(waitUntil(timeout: 20) { ingest.counts.stored == 50 && agent.status().backlog == 0 })
        let report = try IngestStore(path: scratch.file("ingest.db")).report()
        #expect(report.first?.received == 50)
        #expect(report.first?.missing == [])
        #expect(agent.status().delivered == 50)
    }
}
