import Foundation
import TelemetryAgent
import Testing

@Suite struct AgentConfigurationTests {
    let minimal = """
        {"device": "sensor-001", "broker": {"host": "127.0.0.1", "port": 8883},
         "tls": {"ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem"}}
        """

    @Test func minimalFileGetsTheDocumentedDefaults() throws {
        let configuration = try AgentConfiguration.parse(Data(minimal.utf8), folder: "/bundle")
        #expect(configuration.broker.keepalive == 30)
        #expect(configuration.tls.cert == "/bundle/cert.pem")
        #expect(configuration.buffer.path == "/bundle/buffer.db")
        #expect(configuration.buffer.maxRows == 100_000)
        #expect(configuration.buffer.durability == .process)
        #expect(configuration.heartbeat == 30)
        #expect(configuration.streams.first?.topic == "fleet/sensor-001/telemetry/host")
        #expect(configuration.socket == "/bundle/agent.sock")
    }

    @Test func theBriefsExampleParses() throws {
        let text = """
            {"device": "sensor-001", "broker": { "host": "127.0.0.1", "port": 8883, "keepalive": 30 },
             "tls": { "ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem" },
             "buffer": { "path": "buffer.db", "maxRows": 100000, "maxBytes": 67108864, "durability": "power" },
             "heartbeat": "30s",
             "streams": [
               { "name": "host", "qos": 1, "priority": "normal", "ttl": "7d" },
               { "name": "alarms", "qos": 2, "priority": "critical", "ttl": "30d" },
               { "name": "bulk", "qos": 0, "priority": "bulk", "ttl": "1h" }],
             "collector": { "stream": "host", "interval": "10s" }, "socket": "agent.sock"}
            """
        let configuration = try AgentConfiguration.parse(Data(text.utf8), folder: "/b")
        #expect(configuration.streams.map(\.priority) == [.normal, .critical, .bulk])
        #expect(configuration.stream("alarms").map { Int($0.ttl) } == 30 * 86_400)
        #expect(configuration.buffer.durability == .power)
    }

    @Test(arguments: [
        ("\"colour\": 1", "colour"),
        ("\"buffer\": {\"maxrows\": 5}", "buffer.maxrows"),
        ("\"streams\": [{\"name\": \"a\", \"qos\": 1, \"prio\": \"bulk\"}]", "streams[0].prio"),
    ])
    func unknownKeyIsAnErrorNamingTheKey(extra: String, key: String) throws {
        let text = minimal.dropLast() + ", \(extra)}"
        do {
            _ = try AgentConfiguration.parse(Data(text.utf8), folder: "/b")
            Issue.record("'\(key)' was accepted")
        } catch {
            #expect(error.message.contains("unknown key '\(key)'"))
        }
    }

    @Test(arguments: [
        ("\"streams\": [{\"name\": \"a\", \"qos\": 3}]", "qos 3"),
        ("\"buffer\": {\"durability\": \"disk\"}", "'disk'"),
        ("\"heartbeat\": \"soon\"", "'soon'"),
        ("\"streams\": [{\"name\": \"a/b\"}]", "'a/b'"),
    ])
    func badValuesAreNamed(extra: String, named: String) throws {
        let text = minimal.dropLast() + ", \(extra)}"
        #expect(throws: AgentError.self) { try AgentConfiguration.parse(Data(text.utf8), folder: "/b") }
        do {
            _ = try AgentConfiguration.parse(Data(text.utf8), folder: "/b")
        } catch {
            #expect(error.message.contains(named))
        }
    }

    @Test func badDeviceIdIsRefused() throws {
        let text = minimal.replacingOccurrences(of: "sensor-001", with: "a/b")
        #expect(throws: AgentError.self) { try AgentConfiguration.parse(Data(text.utf8), folder: "/b") }
    }
}

@Suite struct DeliveryConfirmationSettingTests {
    let minimal = """
        {"device": "sensor-001", "broker": {"host": "127.0.0.1", "port": 8883},
         "tls": {"ca": "root.pem", "cert": "cert.pem", "key": "key.pem"}
        """

    @Test func confirmDefaultsToTheBrokerWithAThirtySecondReceiptTimeout() throws {
        let configuration = try AgentConfiguration.parse(Data((minimal + "}").utf8), folder: "/b")
        #expect(configuration.delivery.confirm == .broker)
        #expect(configuration.delivery.receiptTimeout == 30)
    }

    @Test func consumerConfirmationAndItsTimeoutAreRead() throws {
        let text = minimal + ", \"delivery\": {\"confirm\": \"consumer\", \"receiptTimeout\": \"90s\"}}"
        let configuration = try AgentConfiguration.parse(Data(text.utf8), folder: "/b")
        #expect(configuration.delivery.confirm == .consumer)
        #expect(configuration.delivery.receiptTimeout == 90)
    }

    @Test func anUnknownConfirmationIsNamed() throws {
        let text = minimal + ", \"delivery\": {\"confirm\": \"ingest\"}}"
        do {
            _ = try AgentConfiguration.parse(Data(text.utf8), folder: "/b")
            Issue.record("confirm 'ingest' was accepted")
        } catch {
            #expect(error.message.contains("'ingest'"))
        }
    }
}
