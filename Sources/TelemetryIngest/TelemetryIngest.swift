import MQTT
import Store
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The reference consumer that proves delivery: it keeps a persistent MQTT session (clean start off, a
/// session expiry), subscribes to the telemetry topics at each stream's QoS, and stores every message in
/// an `IngestStore` keyed by (device, boot epoch, sequence) so duplicates are dropped and counted.
///
/// A message is committed inside libmosquitto's message callback; libmosquitto writes the PUBACK only
/// after the callback returns, so a message is never acknowledged before it is stored.
///
/// After the commit it sends delivery receipts (docs/receipts.md): per device, QoS 1, not retained, on
/// `fleet/<device>/receipt`, the (epoch, seq) ranges committed since the last receipt, duplicates included,
/// batched every `receiptInterval` or `receiptBatch` records of one device. Agents with `confirm: consumer`
/// keep each record until its receipt comes. Messages on topics whose device level is not a valid device
/// id are ignored: neither stored nor confirmed.
///
/// What the broker must be configured with (for whoever writes the production mosquitto.conf):
/// - `max_queued_messages 0` (or a bound above any backlog a consumer may fall behind by): the default 1000
///   silently drops QoS 1/2 messages for a consumer that lags, after the device was told they were delivered.
/// - `persistence true` with a short `autosave_interval` (1-5 s): the consumer's persistent session (its
///   subscriptions and queue) then survives a broker restart. Mosquitto acknowledges a QoS 1/2 publish before
///   it reaches the disk or the consumer, so a broker killed while holding messages for a lagging consumer
///   loses them; the ingest report shows such a loss as a missing range.
/// - The consumer's identity needs read access to `fleet/+/telemetry/#` in the ACL.
public final class TelemetryIngest: @unchecked Sendable {  // `store` is used by the current client's thread only
    /// How the consumer connects and what it subscribes to.
    public struct Options: Sendable {
        /// The broker's host.
        public var host: String
        /// The broker's TLS port.
        public var port: Int
        /// The client id; it names the persistent session.
        public var clientID: String
        /// The service identity.
        public var credentials: TLSCredentials
        /// Topic filters and the QoS of each. The default takes every stream at QoS 2, so each message
        /// arrives at the QoS it was published with.
        public var subscriptions: [(filter: String, qos: Int)]
        /// Seconds the broker keeps the session while the consumer is away.
        public var sessionExpiry: UInt32
        /// The MQTT keepalive in seconds.
        public var keepalive: Int
        /// Whether receipts are sent on `fleet/<device>/receipt` (the identity needs publish rights there).
        public var sendsReceipts = true
        /// Seconds the oldest stored record waits before its receipt goes out.
        public var receiptInterval = 0.2
        /// Receipts go out at once when one device has this many stored records unconfirmed.
        public var receiptBatch = 200

        /// Options; by default every stream at QoS 2 and a one-day session.
        public init(
            host: String, port: Int, clientID: String, credentials: TLSCredentials,
            subscriptions: [(filter: String, qos: Int)] = [("fleet/+/telemetry/#", 2)],
            sessionExpiry: UInt32 = 86_400, keepalive: Int = 30
        ) {
            self.host = host
            self.port = port
            self.clientID = clientID
            self.credentials = credentials
            self.subscriptions = subscriptions
            self.sessionExpiry = sessionExpiry
            self.keepalive = keepalive
        }
    }

    /// How it connects.
    public let options: Options
    private let store: IngestStore
    private let log: @Sendable (String) -> Void
    private let state = Mutex<(stopping: Bool, connected: Bool, stored: Int, duplicates: Int)>((false, false, 0, 0))
    private let stopped = Mutex(false)
    private let receipts = Mutex(ReceiptBatch())

    public init(options: Options, databasePath: String, log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.options = options
        self.log = log
        store = try IngestStore(path: databasePath)
    }

    /// Messages stored and duplicates dropped since start.
    public var counts: (stored: Int, duplicates: Int) { state.withLock { ($0.stored, $0.duplicates) } }

    /// True while a connection is up and subscribed.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Starts the connection thread: connect, subscribe, and after any loss reconnect within a second.
    public func start() {
        final class Runner: @unchecked Sendable {  // handed to one thread
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        let runner = Unmanaged.passRetained(Runner { [self] in superviseConnection() }).toOpaque()
        var thread = pthread_t()
        pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Runner>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, runner)
        pthread_detach(thread)
    }

    /// Disconnects (the session stays on the broker for `sessionExpiry`) and waits for the thread to end.
    public func stop() {
        state.withLock { $0.stopping = true }
        while !stopped.withLock({ $0 }) { usleep(10_000) }
    }

    private func superviseConnection() {
        defer { stopped.withLock { $0 = true } }
        var delay = 0.1
        while !state.withLock({ $0.stopping }) {
            let connectOptions = MQTTConnectOptions(
                host: options.host, port: options.port, clientID: options.clientID, credentials: options.credentials,
                keepalive: options.keepalive, cleanStart: false, sessionExpiry: options.sessionExpiry,
                receiveMaximum: 65_535, sendMaximum: 100)
            do {
                let client = try MQTTClient(options: connectOptions) { [self] event in handle(event) }
                try client.connect()
                try client.waitForConnack(timeout: 10)
                for subscription in options.subscriptions {
                    try client.subscribe(subscription.filter, qos: subscription.qos)
                }
                state.withLock { $0.connected = true }
                log("ingest connected broker=\(options.host):\(options.port)")
                delay = 0.1
                while !client.hasEnded && !state.withLock({ $0.stopping }) {
                    sendReceipts(client)
                    usleep(20_000)
                }
                state.withLock { $0.connected = false }
                client.disconnect()
            } catch {
                log("ingest connection failed error=\(error)")
            }
            if state.withLock({ $0.stopping }) { return }
            usleep(UInt32(Double.random(in: 0...delay) * 1_000_000))
            delay = min(2, delay * 2)
        }
    }

    /// Sends the receipts that are due. Keys stored while no connection was up wait for the next one.
    private func sendReceipts(_ client: MQTTClient) {
        let due = receipts.withLock { batch -> [(topic: String, payload: [UInt8])] in
            guard batch.isDue(now: monotonicSeconds(), interval: options.receiptInterval, count: options.receiptBatch)
            else { return [] }
            return batch.take()
        }
        for receipt in due {
            do {
                try client.publish(MQTTMessage(topic: receipt.topic, payload: receipt.payload, qos: 1, retain: false))
            } catch {
                // The agent sends the records again when no receipt comes; the copies are confirmed then.
                log("ingest receipt failed topic=\(receipt.topic) error=\(error)")
            }
        }
    }

    private func handle(_ event: MQTTEvent) {
        guard case .message(let message) = event else { return }
        let parts = message.topic.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0] == "fleet", parts[2] == "telemetry" else { return }
        // Only device identities report telemetry: a recovery identity (`recovery~<id>`) may publish in its
        // own subtree through the shared `%u` patterns, and must never pass for a device.
        guard ReceiptBatch.isDeviceID(parts[1]) else {
            log("ingest ignored a message: not a device id topic=\(message.topic)")
            return
        }
        let now = Int64(time(nil)) * 1000
        let epoch = message.userProperty("epoch").flatMap { Int64($0) }
        let sequence = message.userProperty("seq").flatMap { Int64($0) }
        do {
            let outcome = try store.store(
                device: String(parts[1]), epoch: epoch, sequence: sequence,
                stream: parts[3...].joined(separator: "/"), topic: message.topic,
                captured: message.userProperty("captured").flatMap { Int64($0) }, receivedMilliseconds: now,
                payload: message.payload)
            state.withLock {
                if outcome == .stored { $0.stored += 1 }
                if outcome == .duplicate { $0.duplicates += 1 }
            }
            // Committed: only now may a receipt say so. A duplicate is confirmed again, since its sender resent
            // it for want of a receipt.
            if let epoch, let sequence, outcome != .unkeyed, options.sendsReceipts {
                receipts.withLock {
                    $0.add(device: String(parts[1]), epoch: epoch, sequence: sequence, now: monotonicSeconds())
                }
            }
        } catch {
            // TODO: a store failure still lets libmosquitto acknowledge the message; the consumer should
            // drop the connection instead so the broker keeps it.
            log("ingest store failed topic=\(message.topic) error=\(error)")
        }
    }
}
