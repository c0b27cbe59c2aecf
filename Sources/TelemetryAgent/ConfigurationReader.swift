/// Turns the parsed agent.json into an `AgentConfiguration`, applying defaults and checking every value.
struct ConfigurationReader {
    let folder: String

    func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : "\(folder)/\(path)" }

    func read(_ top: JSONObject) throws(AgentError) -> AgentConfiguration {
        var top = top
        let device = try top.requiredString("device")
        guard Identifier.isValid(device) else {
            throw AgentError(
                "device id '\(device)' is not valid: use 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit")
        }

        guard var broker = try top.object("broker") else { throw AgentError("'broker' is required") }
        let host = try broker.requiredString("host")
        guard let port = try broker.int("port") else { throw AgentError("'broker.port' is required") }
        guard (1...65535).contains(port) else { throw AgentError("'broker.port' \(port) is not a TCP port") }
        let keepalive = try broker.int("keepalive") ?? 30
        guard (5...65535).contains(keepalive) else {
            throw AgentError("'broker.keepalive' \(keepalive) must be between 5 and 65535 seconds")
        }
        try broker.finish()

        guard var tls = try top.object("tls") else { throw AgentError("'tls' is required") }
        let tlsFiles = AgentConfiguration.TLSFilesConfiguration(
            ca: resolve(try tls.requiredString("ca")), chain: try tls.string("chain").map(resolve),
            cert: resolve(try tls.requiredString("cert")), key: resolve(try tls.requiredString("key")),
            recoveryCert: try tls.string("recoveryCert").map(resolve),
            recoveryKey: try tls.string("recoveryKey").map(resolve))
        guard (tlsFiles.recoveryCert == nil) == (tlsFiles.recoveryKey == nil) else {
            throw AgentError("'tls.recoveryCert' and 'tls.recoveryKey' go together; give both or neither")
        }
        try tls.finish()

        let buffer = try readBuffer(try top.object("buffer"))
        let heartbeat = try top.duration("heartbeat") ?? 30
        let streams = try readStreams(top.value("streams"), device: device)
        let collector = try readCollector(try top.object("collector"), streams: streams)
        let socket = try top.string("socket").map { $0.isEmpty ? nil : resolve($0) } ?? resolve("agent.sock")
        let delivery = try readDelivery(try top.object("delivery"))
        let metrics = try top.string("metrics").map { $0.isEmpty ? nil : resolve($0) } ?? resolve("agent.prom")
        let renewal = try readRenewal(try top.object("renewal"))
        try top.finish()

        return AgentConfiguration(
            device: device, broker: .init(host: host, port: port, keepalive: keepalive), tls: tlsFiles,
            buffer: buffer, heartbeat: heartbeat, streams: streams, collector: collector, socket: socket,
            delivery: delivery, metricsFile: metrics, renewal: renewal)
    }

    private func readRenewal(_ object: JSONObject?) throws(AgentError) -> RenewalConfiguration {
        var object = object
        var renewal = RenewalConfiguration(folder: resolve(try object?.string("folder") ?? "credentials"))
        renewal.enabled = try object?.bool("enabled") ?? true
        renewal.fraction = try object?.double("fraction") ?? renewal.fraction
        guard renewal.fraction > 0 && renewal.fraction < 1 else {
            throw AgentError("'renewal.fraction' \(renewal.fraction) must be between 0 and 1")
        }
        renewal.jitter = try object?.double("jitter") ?? renewal.jitter
        guard renewal.jitter >= 0 && renewal.jitter < min(renewal.fraction, 1 - renewal.fraction) else {
            throw AgentError(
                "'renewal.jitter' \(renewal.jitter) must be at least 0 and keep the renewal inside the lifetime")
        }
        renewal.tick = try object?.duration("tick") ?? renewal.tick
        renewal.timeout = try object?.duration("timeout") ?? renewal.timeout
        renewal.retryMinimum = try object?.duration("retryMin") ?? renewal.retryMinimum
        renewal.retryMaximum = try object?.duration("retryMax") ?? renewal.retryMaximum
        guard renewal.retryMaximum >= renewal.retryMinimum else {
            throw AgentError("'renewal.retryMax' must not be below 'renewal.retryMin'")
        }
        try object?.finish()
        return renewal
    }

    private func readBuffer(_ object: JSONObject?) throws(AgentError) -> AgentConfiguration.BufferConfiguration {
        var object = object
        let path = resolve(try object?.string("path") ?? "buffer.db")
        let maxRows = try object?.int("maxRows") ?? 100_000
        let maxBytes = try object?.int("maxBytes") ?? 64 * 1024 * 1024
        guard maxRows >= 1 else { throw AgentError("'buffer.maxRows' \(maxRows) must be at least 1") }
        guard maxBytes >= 1 else { throw AgentError("'buffer.maxBytes' \(maxBytes) must be at least 1") }
        let durabilityText = try object?.string("durability") ?? "process"
        guard let durability = AgentConfiguration.Durability(rawValue: durabilityText) else {
            throw AgentError("'buffer.durability' is '\(durabilityText)'; use 'process' or 'power'")
        }
        try object?.finish()
        return .init(path: path, maxRows: maxRows, maxBytes: maxBytes, durability: durability)
    }

    private func readStreams(_ value: JSONValue?, device: String) throws(AgentError) -> [StreamConfiguration] {
        guard let value else {
            return [
                StreamConfiguration(
                    name: "host", topic: "fleet/\(device)/telemetry/host", qos: 1,
                    priority: .normal, ttl: 7 * 86_400)
            ]
        }
        guard case .array(let items) = value, !items.isEmpty else {
            throw AgentError("'streams' must be a non-empty list")
        }
        var streams: [StreamConfiguration] = []
        for (index, item) in items.enumerated() {
            var object = try JSONObject(item, path: "streams[\(index)]")
            let name = try object.requiredString("name")
            guard Identifier.isValid(name) else { throw AgentError("stream name '\(name)' is not valid") }
            guard !streams.contains(where: { $0.name == name }) else {
                throw AgentError("stream '\(name)' is listed twice")
            }
            let qos = try object.int("qos") ?? 1
            guard (0...2).contains(qos) else { throw AgentError("stream '\(name)': qos \(qos) must be 0, 1 or 2") }
            let priorityText = try object.string("priority") ?? "normal"
            guard let priority = Priority(rawValue: priorityText) else {
                throw AgentError("stream '\(name)': priority '\(priorityText)' must be critical, normal or bulk")
            }
            let ttl = try object.duration("ttl") ?? 7 * 86_400
            let pattern = try object.string("topic") ?? "fleet/{device}/telemetry/{stream}"
            let topic = pattern.replacingOccurrences(of: "{device}", with: device)
                .replacingOccurrences(of: "{stream}", with: name)
            guard !topic.contains("+"), !topic.contains("#"), !topic.isEmpty else {
                throw AgentError("stream '\(name)': topic '\(topic)' may not contain wildcards")
            }
            try object.finish()
            streams.append(StreamConfiguration(name: name, topic: topic, qos: qos, priority: priority, ttl: ttl))
        }
        return streams
    }

    private func readCollector(_ object: JSONObject?, streams: [StreamConfiguration]) throws(AgentError)
        -> AgentConfiguration.CollectorConfiguration
    {
        var object = object
        let enabled = try object?.bool("enabled") ?? true
        let stream = try object?.string("stream") ?? streams[0].name
        let interval = try object?.duration("interval") ?? 10
        try object?.finish()
        if enabled, !streams.contains(where: { $0.name == stream }) {
            throw AgentError("'collector.stream' names '\(stream)', which is not among the streams")
        }
        return .init(enabled: enabled, stream: stream, interval: interval)
    }

    private func readDelivery(_ object: JSONObject?) throws(AgentError) -> AgentConfiguration.DeliveryConfiguration {
        var object = object
        let window = try object?.int("window") ?? 500
        guard (1...65_535).contains(window) else {
            throw AgentError("'delivery.window' \(window) must be between 1 and 65535")
        }
        let drain = try object?.duration("drainTimeout") ?? 10
        let minimum = try object?.duration("reconnectMin") ?? 1
        let maximum = try object?.duration("reconnectMax") ?? 60
        let connect = try object?.duration("connectTimeout") ?? 15
        guard maximum >= minimum else {
            throw AgentError("'delivery.reconnectMax' must not be below 'delivery.reconnectMin'")
        }
        try object?.finish()
        return .init(
            window: window, drainTimeout: drain, reconnectMinimum: minimum, reconnectMaximum: maximum,
            connectTimeout: connect)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

extension JSONObject {
    /// A number (`renewal.fraction`).
    mutating func double(_ key: String) throws(AgentError) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.isFinite else {
            throw AgentError("'\(name(key))' must be a number, not \(value)")
        }
        return number
    }
}
