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
                while !client.hasEnded && !state.withLock({ $0.stopping }) { usleep(20_000) }
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

    private func handle(_ event: MQTTEvent) {
        guard case .message(let message) = event else { return }
        let parts = message.topic.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0] == "fleet", parts[2] == "telemetry" else { return }
        // Only device identities report telemetry: a recovery identity (`recovery~<id>`) may publish in its
        // own subtree through the shared `%u` patterns, and must never pass for a device.
        guard Self.isDeviceID(parts[1]) else {
            log("ingest ignored topic=\(message.topic) reason=not-a-device-id")
            return
        }
        let now = Int64(time(nil)) * 1000
        do {
            let outcome = try store.store(
                device: String(parts[1]), epoch: message.userProperty("epoch").flatMap { Int64($0) },
                sequence: message.userProperty("seq").flatMap { Int64($0) },
                stream: parts[3...].joined(separator: "/"), topic: message.topic,
                captured: message.userProperty("captured").flatMap { Int64($0) }, receivedMilliseconds: now,
                payload: message.payload)
            state.withLock {
                if outcome == .stored { $0.stored += 1 }
                if outcome == .duplicate { $0.duplicates += 1 }
            }
        } catch {
            // TODO: a store failure still lets libmosquitto acknowledge the message; the consumer should
            // drop the connection instead so the broker keeps it.
            log("ingest store failed topic=\(message.topic) error=\(error)")
        }
    }

    /// The fleet's device-id rule: 1-64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit, no `..`.
    static func isDeviceID(_ text: Substring) -> Bool {
        guard (1...64).contains(text.utf8.count), !text.contains(".."), let first = text.unicodeScalars.first
        else { return false }
        func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        return isLetterOrDigit(first)
            && text.unicodeScalars.allSatisfy { isLetterOrDigit($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }
}
