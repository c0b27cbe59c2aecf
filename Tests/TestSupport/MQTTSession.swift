import Foundation
import MQTT
import Synchronization

/// A connected MQTT v5 client for tests, with every event it received kept for inspection.
public final class MQTTSession: Sendable {
    public let client: MQTTClient
    private let recorder: EventRecorder

    /// Connects with the given credential files and waits for the CONNACK; throws when refused.
    public init(
        port: UInt16, clientID: String, caFile: String, certificateFile: String, keyFile: String,
        cleanStart: Bool = true
    ) throws {
        let options = MQTTConnectOptions(
            host: "127.0.0.1", port: Int(port), clientID: clientID,
            credentials: TLSCredentials(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile),
            cleanStart: cleanStart)
        let recorder = EventRecorder()
        client = try MQTTClient(options: options) { event in recorder.append(event) }
        self.recorder = recorder
        try client.connect()
        try client.waitForConnack(timeout: 10)
    }

    /// Every event so far, oldest first.
    public var all: [MQTTEvent] { recorder.events.withLock { $0 } }

    /// The messages delivered on subscriptions.
    public var messages: [MQTTMessage] {
        all.compactMap { if case .message(let message) = $0 { return message } else { return nil } }
    }

    /// The reason code of each finished publish, by tag.
    public var publishResults: [UInt64: ReasonCode] {
        var results: [UInt64: ReasonCode] = [:]
        for case .published(let tag, _, let reason) in all { results[tag] = reason }
        return results
    }

    /// True once the connection ended.
    public var hasDisconnected: Bool {
        all.contains { if case .disconnected = $0 { return true } else { return false } }
    }

    /// Subscribes and waits for the SUBACK (which proves nothing about read rights: see DESIGN.md).
    public func subscribe(_ filter: String, qos: Int = 1) throws {
        let before = all.count { if case .subscribed = $0 { return true } else { return false } }
        try client.subscribe(filter, qos: qos)
        _ = waitUntil(timeout: 10) {
            all.count { if case .subscribed = $0 { return true } else { return false } } > before
        }
    }

    /// Publishes at QoS 1 and waits for the PUBACK; returns its reason, or nil when none came.
    public func publishAndWait(_ topic: String, _ text: String, qos: Int = 1, tag: UInt64) -> ReasonCode? {
        do {
            try client.publish(MQTTMessage(topic: topic, payload: Array(text.utf8), qos: qos), tag: tag)
        } catch {
            return nil
        }
        _ = waitUntil(timeout: 10) { publishResults[tag] != nil || hasDisconnected }
        return publishResults[tag]
    }
}

/// The events of one client, appended on libmosquitto's thread and read by the test.
private final class EventRecorder: Sendable {
    let events = Mutex<[MQTTEvent]>([])

    func append(_ event: MQTTEvent) { events.withLock { $0.append(event) } }
}
