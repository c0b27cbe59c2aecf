import FleetIdentity
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent's configuration, read from the bundle's `agent.json`.
///
/// Paths in the file are relative to the file's own folder and are absolute here. Every key but
/// `device`, `broker.host`, `broker.port` and `tls` has a default; an unknown key is an error naming it.
public struct AgentConfiguration: Sendable {
    /// The device id: certificate CN, MQTT client id and topic segment.
    public var device: String
    /// Where the broker is.
    public var broker: Broker
    /// The device's TLS files.
    public var tls: TLSFilesConfiguration
    /// The on-disk buffer.
    public var buffer: BufferConfiguration
    /// Seconds between status messages.
    public var heartbeat: Double
    /// The telemetry streams, each with its topic, QoS, priority and TTL.
    public var streams: [StreamConfiguration]
    /// The /proc collector.
    public var collector: CollectorConfiguration
    /// The Unix socket producers write to; nil disables it.
    public var socket: String?
    /// Delivery tuning (window, drain time, reconnect delays).
    public var delivery: DeliveryConfiguration
    /// Where Prometheus text metrics are written (for node_exporter's textfile collector); nil for none.
    public var metricsFile: String?
    /// Certificate renewal (RenewalClient).
    public var renewal: RenewalConfiguration = RenewalConfiguration(folder: "credentials")

    /// The broker's address and the MQTT keepalive.
    public struct Broker: Sendable {
        /// The broker's host name or address.
        public var host: String
        /// The broker's TLS port.
        public var port: Int
        /// The MQTT keepalive in seconds.
        public var keepalive: Int
    }

    /// The device's TLS files. `chain` (the issuing CA) is sent after `cert` during the handshake.
    public struct TLSFilesConfiguration: Sendable {
        /// The root certificate that signs the broker's certificate.
        public var ca: String
        /// The issuing CA, sent after the device certificate.
        public var chain: String?
        /// The device certificate.
        public var cert: String
        /// The device's private key (the path only is ever shown).
        public var key: String
        /// The recovery credential (identity `recovery~<device>`), used only to renew an expired certificate.
        public var recoveryCert: String?
        public var recoveryKey: String?

        /// The files by absolute path.
        public init(
            ca: String, chain: String?, cert: String, key: String, recoveryCert: String? = nil,
            recoveryKey: String? = nil
        ) {
            self.ca = ca
            self.chain = chain
            self.cert = cert
            self.key = key
            self.recoveryCert = recoveryCert
            self.recoveryKey = recoveryKey
        }
    }

    /// The on-disk buffer and its limits.
    public struct BufferConfiguration: Sendable {
        /// The SQLite file.
        public var path: String
        /// At most this many records are held; a new one evicts or is refused.
        public var maxRows: Int
        /// At most this many payload bytes are held.
        public var maxBytes: Int
        /// How durable an acknowledged record is.
        public var durability: Durability
    }

    /// How durable an acknowledged record is.
    public enum Durability: String, Sendable {
        /// It survives the agent being killed (SQLite WAL, synchronous=NORMAL: no fsync per commit).
        /// A power cut may lose the last commits.
        case process
        /// It survives a power cut: every commit is fsynced (synchronous=FULL). Costs one fsync per
        /// group commit; concurrent producers share it.
        case power
    }

    /// The built-in collector of host readings from /proc.
    public struct CollectorConfiguration: Sendable {
        /// Whether the collector runs.
        public var enabled: Bool
        /// The stream its readings go to.
        public var stream: String
        /// Seconds between readings.
        public var interval: Double
    }

    /// Delivery tuning.
    public struct DeliveryConfiguration: Sendable {
        /// Records handed to libmosquitto at once; the rest waits in SQLite.
        public var window: Int
        /// How long SIGTERM waits for in-flight records to be acknowledged.
        public var drainTimeout: Double
        /// First and largest reconnect delay (full jitter: a random delay up to the current bound).
        public var reconnectMinimum: Double
        /// The largest reconnect delay bound, in seconds.
        public var reconnectMaximum: Double
        /// How long a connection attempt may take to get its CONNACK.
        public var connectTimeout: Double
        /// What confirms a record so that it may leave the buffer (default `broker`).
        public var confirm: DeliveryConfirmation = .broker
        /// With `confirm: consumer`, seconds a broker-acknowledged record waits for its receipt before it is
        /// sent again.
        public var receiptTimeout: Double = 30
    }

    /// The stream called `name`.
    public func stream(_ name: String) -> StreamConfiguration? { streams.first { $0.name == name } }

    /// Reads and checks `path`.
    public static func load(path: String) throws(AgentError) -> AgentConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError("cannot read the agent configuration '\(path)'")
        }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        return try parse(data, folder: folder, source: path)
    }

    /// Parses a configuration whose relative paths are relative to `folder`.
    public static func parse(_ data: Data, folder: String, source: String = "agent.json") throws(AgentError)
        -> AgentConfiguration
    {
        let object: JSONObject
        do {
            object = try JSONObject(JSONDecoder().decode(JSONValue.self, from: data), path: "")
        } catch let error as AgentError {
            throw AgentError("\(source): \(error.message)")
        } catch {
            throw AgentError("\(source) is not valid JSON: \(error)")
        }
        do {
            return try ConfigurationReader(folder: folder).read(object)
        } catch {
            throw AgentError("\(source): \(error.message)")
        }
    }
}

/// One telemetry stream: where its records go and how they are treated.
public struct StreamConfiguration: Sendable, Equatable {
    /// The stream's name (the id charset).
    public var name: String
    /// The topic its records are published on.
    public var topic: String
    /// The MQTT QoS of its records: 0, 1 or 2.
    public var qos: Int
    /// Which records go first when the buffer is full.
    public var priority: Priority
    /// Seconds a record may wait before it expires.
    public var ttl: Double

    /// A stream with every field given.
    public init(name: String, topic: String, qos: Int, priority: Priority, ttl: Double) {
        self.name = name
        self.topic = topic
        self.qos = qos
        self.priority = priority
        self.ttl = ttl
    }
}

/// Which records go first when the buffer is full: bulk, then normal, then critical.
public enum Priority: String, Sendable, CaseIterable, Comparable {
    case bulk, normal, critical

    /// The order of eviction: lower goes first.
    public var rank: Int {
        switch self {
        case .bulk: 0
        case .normal: 1
        case .critical: 2
        }
    }

    /// Bulk < normal < critical.
    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rank < rhs.rank }

    init?(rank: Int) {
        guard let found = Priority.allCases.first(where: { $0.rank == rank }) else { return nil }
        self = found
    }
}

/// Checks identifiers as the fleet's conventions define them (device ids, stream names): `IdentityRule`.
enum Identifier {
    static func isValid(_ text: String) -> Bool { IdentityRule.isValid(text) }
}

/// Durations as written in agent.json: `250ms`, `90s`, `15m`, `12h`, `7d`, `1w`, `1y`, or several joined
/// (`1h30m`).
enum DurationValue {
    static func seconds(_ text: String) -> Double? {
        if text.hasSuffix("ms"), let number = Int(text.dropLast(2)), number > 0 { return Double(number) / 1000 }
        var total = 0.0
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3_600
            case "d": unit = 86_400
            case "w": unit = 604_800
            case "y": unit = 31_536_000
            default: return nil
            }
            guard let number = Int(digits) else { return nil }
            total += Double(number) * unit
            digits = ""
        }
        return digits.isEmpty && total > 0 ? total : nil
    }
}

/// When and how the agent renews its certificate (`renewal` in agent.json).
public struct RenewalConfiguration: Sendable {
    /// False turns renewal off (the operator renews by hand).
    public var enabled: Bool = true
    /// The part of the lifetime after which renewal starts (default two thirds).
    public var fraction: Double = 2.0 / 3.0
    /// Random spread around that point, as a part of the lifetime (default 0.05: ±5%).
    public var jitter: Double = 0.05
    /// How often the wall clock is checked, seconds (catches sleep and clock jumps).
    public var tick: Double = 1
    /// How long to wait for the CA's answer, seconds.
    public var timeout: Double = 10
    /// First and largest delay between failed attempts (exponential, full jitter).
    public var retryMinimum: Double = 2
    public var retryMaximum: Double = 300
    /// Where renewed key and certificate pairs are kept (CredentialStore).
    public var folder: String

    public init(folder: String) { self.folder = folder }
}
