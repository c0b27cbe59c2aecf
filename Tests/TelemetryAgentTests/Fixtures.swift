import Foundation
import MQTT
import TelemetryAgent
import TelemetryIngest
import TestSupport

/// A TLS broker for delivery tests. Its ACL lets each device use `fleet/<id>/#`, the `ingest` and
/// `watcher` services read everything, and `ingest` send delivery receipts. `max_queued_messages 0` keeps
/// the broker from dropping messages for a consumer that falls behind (the default of 1000 drops them
/// silently).
final class DeliveryBroker: @unchecked Sendable {  // used from the test's thread
    let pki: TestPKI
    let files: TemporaryDirectory
    let broker: MosquittoBroker
    var port: UInt16 { broker.port }

    init(persistent: Bool = false, start: Bool = true, withACL: Bool = true, pki: TestPKI? = nil) throws {
        self.pki = try pki ?? TestPKI()
        files = try TemporaryDirectory("fleet-delivery")
        let acl =
            "pattern readwrite fleet/%u/#\n\nuser ingest\ntopic read fleet/#\ntopic write fleet/+/receipt\n"
            + "\nuser watcher\ntopic read fleet/#\n"
            + "\nuser operator\ntopic write fleet/+/command\n"
        try acl.write(toFile: files.file("acl"), atomically: true, encoding: .utf8)
        var lines = [
            self.pki.brokerTLSConfiguration(aclFile: withACL ? files.file("acl") : nil), "max_queued_messages 0",
            "max_inflight_messages 0",
        ]
        if persistent {
            lines += ["persistence true", "persistence_location \(files.path)/", "autosave_interval 1"]
        }
        if start {
            broker = try MosquittoBroker(configuration: lines.joined(separator: "\n"))
        } else {
            // Reserve the configuration and port, start later (the device cannot reach it until then).
            broker = try MosquittoBroker(configuration: lines.joined(separator: "\n"))
            broker.kill()
        }
    }

    var persistenceFile: String { files.file("mosquitto.db") }

    /// A started reference consumer with the `ingest` service identity.
    func startIngest(database: String) throws -> TelemetryIngest {
        let identity = try pki.service("ingest")
        let ingest = try TelemetryIngest(
            options: .init(
                host: "127.0.0.1", port: Int(port), clientID: "ingest",
                credentials: TLSCredentials(
                    caFile: identity.ca, certificateFile: identity.fullChain,
                    keyFile: identity.key)),
            databasePath: database)
        ingest.start()
        return ingest
    }

    /// A client with the `watcher` identity that records what it receives.
    func watcher(_ log: MessageLog, identity name: String = "watcher") throws -> MQTTClient {
        let identity = try pki.service(name)
        let client = try MQTTClient(
            options: MQTTConnectOptions(
                host: "127.0.0.1", port: Int(port), clientID: name,
                credentials: TLSCredentials(
                    caFile: identity.ca,
                    certificateFile: identity.fullChain,
                    keyFile: identity.key)),
            handler: log.handler)
        try client.connect()
        try client.waitForConnack(timeout: 10)
        return client
    }
}

/// Messages a watcher received.
final class MessageLog: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var received: [MQTTMessage] = []
    private var subacks = 0

    var handler: @Sendable (MQTTEvent) -> Void {
        { [self] event in
            lock.lock()
            defer { lock.unlock() }
            if case .message(let message) = event { received.append(message) }
            if case .subscribed = event { subacks += 1 }
        }
    }

    var messages: [MQTTMessage] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    var subscribed: Int {
        lock.lock()
        defer { lock.unlock() }
        return subacks
    }
}

/// A device bundle folder with agent.json, made for `broker`.
struct DeviceBundle {
    let directory: TemporaryDirectory
    let device: String
    var configPath: String { directory.file("agent.json") }

    init(
        device: String, broker: DeliveryBroker, extra: String = "", buffer: String = "",
        streams: String? = nil, delivery: String = ""
    ) throws {
        directory = try TemporaryDirectory("fleet-bundle")
        self.device = device
        let identity = try broker.pki.device(device)
        for (source, name) in [
            (identity.ca, "root.pem"), (identity.chain, "chain.pem"),
            (identity.certificate, "cert.pem"), (identity.key, "key.pem"),
        ] {
            try FileManager.default.copyItem(atPath: source, toPath: directory.file(name))
        }
        let streamList =
            streams ?? """
                [{ "name": "host", "qos": 1, "priority": "normal", "ttl": "7d" },
                 { "name": "alarms", "qos": 2, "priority": "critical", "ttl": "30d" },
                 { "name": "bulk", "qos": 0, "priority": "bulk", "ttl": "1h" }]
                """
        let text = """
            {
              "device": "\(device)",
              "broker": { "host": "127.0.0.1", "port": \(broker.port), "keepalive": 10 },
              "tls": { "ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem" },
              "buffer": { "path": "buffer.db"\(buffer) },
              "heartbeat": "1s",
              "streams": \(streamList),
              "collector": { "enabled": false },
              "delivery": { "reconnectMin": "100ms", "reconnectMax": "1s", "drainTimeout": "5s"\(delivery) }\(extra)
            }
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func configuration() throws -> AgentConfiguration { try AgentConfiguration.load(path: configPath) }
}

/// Records for `stream` numbered from `start`.
func records(_ count: Int, stream: String = "host", start: Int = 0) -> [IncomingRecord] {
    (start..<(start + count)).map { IncomingRecord(stream: stream, payload: Array("{\"n\":\($0)}".utf8)) }
}

/// The path of a system tool, looked up in the usual folders first (the test runner's PATH may be bare).
func installedTool(_ name: String) -> String {
    ["/usr/bin/", "/usr/sbin/", "/usr/local/bin/"].map { $0 + name }
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? resolveExecutable(name)
}
