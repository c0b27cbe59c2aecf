import Foundation
import MQTT
import TelemetryAgent
import TelemetryIngest
import TestSupport
import Testing

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

    @Test func forbiddenPublishEndsInTheRejectedTableWith0x87AndIsNeverCountedDelivered() throws {
        let broker = try DeliveryBroker()
        let streams = """
            [{ "name": "host", "qos": 1 },
             { "name": "stolen", "qos": 1, "topic": "fleet/other-device/telemetry/x" },
             { "name": "stolen2", "qos": 2, "topic": "fleet/other-device/telemetry/y" }]
            """
        let bundle = try DeviceBundle(device: "dev-b", broker: broker, streams: streams)
        let configuration = try bundle.configuration()
        let agent = try TelemetryAgent(configuration: configuration)
        agent.start()
        defer { agent.stop() }
        _ = agent.submit(records(2, stream: "stolen") + records(1, stream: "host") + records(2, stream: "stolen2"))
        #expect(waitUntil(timeout: 20) { agent.status().backlog == 0 && agent.status().rejected == 4 })
        let status = agent.status()
        #expect(status.delivered == 1)
        let rejected = try RecordBuffer(configuration: configuration).rejectedRecords()
        #expect(rejected.count == 4)
        #expect(rejected.allSatisfy { $0.reason == 0x87 })
        #expect(Set(rejected.map(\.stream)) == ["stolen", "stolen2"])
    }

    @Test func puback0x10NoMatchingSubscribersCountsAsDelivered() throws {
        let broker = try DeliveryBroker()
        let bundle = try DeviceBundle(device: "dev-c", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        // Nobody subscribes: the broker answers every PUBACK/PUBCOMP with 0x10.
        _ = agent.submit(records(20) + records(5, stream: "alarms"))
        #expect(waitUntil(timeout: 20) { agent.status().delivered == 25 })
        #expect(agent.status().backlog == 0)
        #expect(agent.status().rejected == 0)
    }

    @Test func recordsAcceptedBeforeTheFirstConnectAreDeliveredOnceTheBrokerIsUp() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "dev-d", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        let outcomes = agent.submit(records(300) + records(20, stream: "alarms"))
        #expect(outcomes.allSatisfy { $0.sequence != nil })
        #expect(!agent.isOnline)
        #expect(agent.status().backlog == 320)
        #expect(waitUntil(timeout: 10) { agent.status().lastError != nil })

        try broker.broker.start()
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        defer { ingest.stop() }
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        // The agent may have connected before the ingest subscribed; send a second batch to be sure the
        // first is not simply lost to "no subscribers": check both by sequence.
        #expect(waitUntil(timeout: 20) { agent.status().backlog == 0 })
        let late = agent.submit(records(10, start: 1000))
        let store = try IngestStore(path: scratch.file("ingest.db"))
        let arrived = waitUntil(timeout: 20) {
            late.allSatisfy { (try? store.contains(device: "dev-d", sequence: $0.sequence ?? -1)) == true }
        }
        #expect(arrived)
        #expect(waitUntil(timeout: 20) { agent.status().delivered == 330 })
        #expect(agent.status().backlog == 0)
    }

    @Test func statusMessageIsRetainedAndCarriesBacklogDropsAndCertificateExpiry() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "dev-e", broker: broker, buffer: ", \"maxRows\": 10")
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        // Offline overflow: 25 normal records into 10 rows, 15 evicted; 3 bulk refused behind them? No:
        // bulk may only evict bulk, so with the buffer full of normal records they are refused.
        _ = agent.submit(records(25))
        _ = agent.submit(records(3, stream: "bulk"))
        let offline = agent.status()
        #expect(offline.backlog == 10)
        #expect(offline.evictedNormal == 15)
        #expect(offline.refused == 3)
        #expect(offline.dropped == 18)

        try broker.broker.start()
        #expect(waitUntil(timeout: 20) { agent.isOnline && agent.status().backlog == 0 })
        // A heartbeat later the retained status says so; a new subscriber gets it at once.
        let log = MessageLog()
        let watcher = try broker.watcher(log)
        defer { watcher.disconnect() }
        var last: [String: Any] = [:]
        let seen = waitUntil(timeout: 20) {
            _ = try? watcher.subscribe("fleet/dev-e/status", qos: 1)
            guard let message = log.messages.last(where: { $0.topic == "fleet/dev-e/status" }),
                let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
            else { return false }
            last = object
            return object["backlog"] as? Int == 0
        }
        #expect(seen)
        // A subscriber that arrives later gets the status at once, as a retained message.
        watcher.disconnect()
        let laterLog = MessageLog()
        let later = try broker.watcher(laterLog)
        defer { later.disconnect() }
        try later.subscribe("fleet/dev-e/status", qos: 1)
        #expect(waitUntil(timeout: 10) { laterLog.messages.first?.retain == true })
        #expect(last["online"] as? Bool == true)
        #expect(last["evictedNormal"] as? Int == 15)
        #expect(last["refused"] as? Int == 3)
        #expect(last["dropped"] as? Int == 18)
        #expect(last["delivered"] as? Int == 10)
        #expect((last["certificateNotAfter"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func statusSaysOfflineWhenTheAgentStops() throws {
        let broker = try DeliveryBroker()
        let bundle = try DeviceBundle(device: "dev-f", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        #expect(waitUntil(timeout: 20) { agent.isOnline })
        let log = MessageLog()
        let watcher = try broker.watcher(log)
        defer { watcher.disconnect() }
        try watcher.subscribe("fleet/dev-f/status", qos: 1)
        #expect(waitUntil(timeout: 10) { log.messages.contains { $0.topic == "fleet/dev-f/status" } })
        agent.stop()
        let offline = waitUntil(timeout: 10) {
            guard let message = log.messages.last(where: { $0.topic == "fleet/dev-f/status" }) else { return false }
            return String(decoding: message.payload, as: UTF8.self).contains("\"online\":false")
        }
        #expect(offline)
    }

    @Test func mosquittoSubSeesTheRecordsAndTheirUserProperties() throws {
        let broker = try DeliveryBroker()
        let watcher = try broker.pki.service("watcher")
        let scratch = try TemporaryDirectory()
        let output = scratch.file("sub.out")
        let subscriber = Process()
        subscriber.executableURL = URL(fileURLWithPath: installedTool("mosquitto_sub"))
        subscriber.arguments = [
            "-h", "127.0.0.1", "-p", "\(broker.port)", "--cafile", watcher.ca, "--cert", watcher.fullChain,
            "--key", watcher.key, "-V", "mqttv5", "-i", "watcher", "-q", "1", "-t", "fleet/dev-g/telemetry/#",
            "-C", "3", "-W", "30", "-F", "%t|%P|%p",
        ]
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        subscriber.standardOutput = FileHandle(forWritingAtPath: output)
        try subscriber.run()
        defer { if subscriber.isRunning { subscriber.terminate() } }
        let bundle = try DeviceBundle(device: "dev-g", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        #expect(waitUntil(timeout: 10) { broker.broker.log.contains("as watcher") })
        // Records only count once the subscriber is there; resubmit until it has seen three.
        let outcomes = agent.submit(records(3))
        subscriber.waitUntilExit()
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        for (line, outcome) in zip(lines, outcomes) {
            let parts = line.split(separator: "|", maxSplits: 2).map(String.init)
            #expect(parts[0] == "fleet/dev-g/telemetry/host")
            #expect(parts[1].contains("seq:\(outcome.sequence ?? -1)"))
            #expect(parts[1].contains("epoch:\(agent.bootEpoch)"))
            #expect(parts[1].contains("captured:"))
        }
    }

    @Test func commandsOnTheDevicesCommandTopicReachTheApplication() throws {
        let broker = try DeliveryBroker()
        let bundle = try DeviceBundle(device: "dev-q", broker: broker)
        let received = MessageLog()
        let agent = try TelemetryAgent(
            configuration: try bundle.configuration(), onMessage: { message in received.handler(.message(message)) })
        agent.start()
        defer { agent.stop() }
        #expect(waitUntil(timeout: 20) { broker.broker.log.contains("dev-q 1 fleet/dev-q/command") })
        let operatorClient = try broker.watcher(MessageLog(), identity: "operator")
        defer { operatorClient.disconnect() }
        let command = Array("{\"op\":\"renew\"}".utf8)
        try operatorClient.publish(MQTTMessage(topic: "fleet/dev-q/command", payload: command))
        #expect(waitUntil(timeout: 10) { received.messages.count == 1 })
        #expect(received.messages.first?.topic == "fleet/dev-q/command")
        #expect(received.messages.first?.payload == command)
    }
}
