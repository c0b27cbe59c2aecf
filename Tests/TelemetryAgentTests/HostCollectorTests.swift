import Foundation
import TelemetryAgent
import Testing
import TestSupport

@Suite struct HostCollectorTests {
    @Test func collectorBuffersRealHostReadingsAndStopWritesMetrics() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "dev-h", broker: broker)
        let configuration = try bundle.configuration()
        let agent = try TelemetryAgent(configuration: configuration)
        agent.start()
        let collector = HostCollector(agent: agent, stream: "host", interval: 0.1)
        collector.start()
        #expect(waitUntil(timeout: 10) { agent.status().backlog >= 3 })
        collector.stop()
        agent.stop()

        let readings = try RecordBuffer(configuration: configuration).pending(after: 0, limit: 10, now: 0)
        let last = try #require(readings.last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.payload)) as? [String: Any])
        let host = try #require(object["host"] as? [String: Any])
        #expect((host["memTotalKiB"] as? Int ?? 0) > 0)
        #expect(host["load1"] != nil)
        #expect((host["diskBytes"] as? Int ?? 0) > 0)
        #expect(host["netRxBytes"] != nil)
        // The CPU share needs two readings; every reading after the first has it.
        #expect(readings.dropFirst().allSatisfy { String(decoding: $0.payload, as: UTF8.self).contains("\"cpu\":") })

        let metrics = try String(contentsOfFile: try #require(configuration.metricsFile), encoding: .utf8)
        #expect(metrics.contains("fleet_agent_backlog_records{device=\"dev-h\"} \(readings.count)"))
        #expect(metrics.contains("fleet_agent_online{device=\"dev-h\"} 0"))
        #expect(metrics.contains("# TYPE fleet_agent_records_total counter"))
    }
}
