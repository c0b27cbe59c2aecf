import Foundation
import MQTT
import Synchronization
import TestSupport
import Testing

/// Records a client's events for the test to inspect.
final class EventLog: Sendable {
    private let events = Mutex<[MQTTEvent]>([])

    var handler: @Sendable (MQTTEvent) -> Void { { [self] event in events.withLock { $0.append(event) } } }

    var all: [MQTTEvent] { events.withLock { $0 } }

    var published: [(tag: UInt64, reason: ReasonCode)] {
        all.compactMap { if case .published(let tag, _, let reason) = $0 { return (tag, reason) } else { return nil } }
    }

    var messages: [MQTTMessage] {
        all.compactMap { if case .message(let message) = $0 { return message } else { return nil } }
    }

    var disconnects: Int {
        all.filter { if case .disconnected = $0 { return true } else { return false } }.count
    }

    var subacks: Int {
        all.filter { if case .subscribed = $0 { return true } else { return false } }.count
    }
}

/// A TLS broker whose ACL lets each identity use `fleet/<id>/#` and the `watcher` service read everything.
struct TLSBrokerFixture {
    let pki: TestPKI
    let broker: MosquittoBroker
    let files: TemporaryDirectory

    init() throws {
        pki = try TestPKI()
        files = try TemporaryDirectory("fleet-acl")
        let acl = "pattern readwrite fleet/%u/#\n\nuser watcher\ntopic read fleet/#\n"
        try acl.write(toFile: files.file("acl"), atomically: true, encoding: .utf8)
        broker = try MosquittoBroker(configuration: pki.brokerTLSConfiguration(aclFile: files.file("acl")))
    }

    func options(_ identity: TLSFiles, id: String) -> MQTTConnectOptions {
        MQTTConnectOptions(
            host: "127.0.0.1", port: Int(broker.port), clientID: id,
            credentials: TLSCredentials(
                caFile: identity.ca, certificateFile: identity.fullChain,
                keyFile: identity.key))
    }
}

@Suite(.serialized) struct MQTTClientTests {
    @Test func publishCarriesUserPropertiesAndExpiryToASubscriber() throws {
        let fixture = try TLSBrokerFixture()
        let watcherLog = EventLog()
        let deviceLog = EventLog()
        let watcher = try MQTTClient(
            options: fixture.options(try fixture.pki.service("watcher"), id: "watcher"),
            handler: watcherLog.handler)
        try watcher.connect()
        #expect(try watcher.waitForConnack(timeout: 10) == .success)
        try watcher.subscribe("fleet/#", qos: 1)
        #expect(waitUntil(timeout: 10) { watcherLog.subacks == 1 })

        let device = try MQTTClient(
            options: fixture.options(try fixture.pki.device("dev-1"), id: "dev-1"),
            handler: deviceLog.handler)
        try device.connect()
        try device.waitForConnack(timeout: 10)
        let message = MQTTMessage(
            topic: "fleet/dev-1/telemetry/host", payload: Array("{\"t\":1}".utf8), qos: 1,
            userProperties: [UserProperty("seq", "41"), UserProperty("epoch", "7")],
            messageExpiry: 3600)
        try device.publish(message, tag: 99)
        #expect(waitUntil(timeout: 10) { deviceLog.published.count == 1 && watcherLog.messages.count == 1 })
        #expect(deviceLog.published.first?.tag == 99)
        #expect(deviceLog.published.first?.reason == .success)
        let received = try #require(watcherLog.messages.first)
        #expect(received.payload == message.payload)
        #expect(received.userProperty("seq") == "41")
        #expect(received.userProperty("epoch") == "7")
        #expect((received.messageExpiry ?? 0) > 3500)
        device.disconnect()
        watcher.disconnect()
    }

    @Test func forbiddenPublishFailsWithNotAuthorizedAtQoS1AndQoS2() throws {
        let fixture = try TLSBrokerFixture()
        let log = EventLog()
        let device = try MQTTClient(
            options: fixture.options(try fixture.pki.device("dev-2"), id: "dev-2"),
            handler: log.handler)
        try device.connect()
        try device.waitForConnack(timeout: 10)
        try device.publish(MQTTMessage(topic: "fleet/other/telemetry/host", payload: [1], qos: 1), tag: 1)
        try device.publish(MQTTMessage(topic: "fleet/other/telemetry/alarms", payload: [2], qos: 2), tag: 2)
        #expect(waitUntil(timeout: 10) { log.published.count == 2 })
        let reasons = Dictionary(uniqueKeysWithValues: log.published.map { ($0.tag, $0.reason) })
        #expect(reasons[1] == .notAuthorized)
        #expect(reasons[2] == .notAuthorized)
        #expect(reasons[1]?.isFailure == true)
    }

    @Test func publishWithoutSubscribersSucceedsWithReason0x10() throws {
        let fixture = try TLSBrokerFixture()
        let log = EventLog()
        let device = try MQTTClient(
            options: fixture.options(try fixture.pki.device("dev-3"), id: "dev-3"),
            handler: log.handler)
        try device.connect()
        try device.waitForConnack(timeout: 10)
        try device.publish(MQTTMessage(topic: "fleet/dev-3/telemetry/host", payload: [1], qos: 1), tag: 5)
        #expect(waitUntil(timeout: 10) { log.published.count == 1 })
        #expect(log.published.first?.reason == .noMatchingSubscribers)
        #expect(log.published.first?.reason.isFailure == false)
    }

    @Test func certificateFromAnotherAuthorityIsRefused() throws {
        let fixture = try TLSBrokerFixture()
        let stranger = try TestPKI()
        let log = EventLog()
        let client = try MQTTClient(
            options: fixture.options(try stranger.device("dev-4"), id: "dev-4"),
            handler: log.handler)
        // The handshake may fail in connect() or later as a disconnect; both must surface as errors.
        #expect(throws: MQTTError.self) {
            try client.connect()
            try client.waitForConnack(timeout: 10)
        }
        #expect(!client.isConnected)
    }

    @Test func brokerLossIsReportedOnceAndTheClientDoesNotReconnectByItself() throws {
        let fixture = try TLSBrokerFixture()
        let log = EventLog()
        let client = try MQTTClient(
            options: fixture.options(try fixture.pki.device("dev-5"), id: "dev-5"),
            handler: log.handler)
        try client.connect()
        try client.waitForConnack(timeout: 10)
        fixture.broker.kill()
        #expect(waitUntil(timeout: 10) { log.disconnects == 1 })
        #expect(!client.isConnected)
        #expect(throws: MQTTError.self) {
            try client.publish(MQTTMessage(topic: "fleet/dev-5/telemetry/host", payload: [1], qos: 1))
        }
        try fixture.broker.start()
        // libmosquitto would retry after one second by itself; give it three and check it stayed down.
        usleep(3_000_000)
        let connacks = log.all.filter { if case .connected = $0 { return true } else { return false } }.count
        #expect(connacks == 1)
        #expect(log.disconnects == 1)
    }
}
