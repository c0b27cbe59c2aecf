import CMosquitto
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// libmosquitto needs one global initialisation; a lazily initialised global runs it exactly once.
private let libraryInitialised: Int32 = mosquitto_lib_init()

/// One MQTT v5 connection over TLS with a client certificate, through libmosquitto.
///
/// The client owns its `struct mosquitto*` and destroys it in `deinit`. A client lives for one connection:
/// when the connection ends it does not reconnect and does not resend anything by itself ("no silent
/// retries"). Whoever owns the data (the agent's buffer) creates a new client, possibly with new
/// credentials, and resends what was never acknowledged.
///
/// Events reach `handler` on libmosquitto's network thread. The handler must not call `disconnect()`
/// or drop the last reference to the client (both wait for that thread); it may call `publish`.
/// A `published` event is never delivered before the `publish` call that sent it has returned its id.
public final class MQTTClient: @unchecked Sendable {  // the handle is used under `gate` or by libmosquitto's thread
    /// The options this client was made with.
    public let options: MQTTConnectOptions
    private let handle: OpaquePointer
    private let handler: @Sendable (MQTTEvent) -> Void
    private let gate = Mutex(GateState())

    private struct GateState {
        var tags: [Int32: UInt64] = [:]
        var loopRunning = false
        var closing = false
        var connack: ReasonCode?
        var ended = false
        var endCode = 0
        /// The blocking part of `connect()` is over: from now on a closed socket means the end.
        var handshakeDone = false
    }

    /// Prepares a client: protocol v5, TLS 1.2+ with `options.credentials`, TCP_NODELAY, the will.
    /// Nothing goes on the network until `connect()`.
    public init(options: MQTTConnectOptions, handler: @escaping @Sendable (MQTTEvent) -> Void) throws(MQTTError) {
        _ = libraryInitialised
        guard let handle = mosquitto_new(options.clientID, options.cleanStart, nil) else {
            throw MQTTError(
                message: "cannot create an MQTT client for '\(options.clientID)': \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.options = options
        self.handler = handler
        try configure()
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        Self.installCallbacks(handle)
    }

    deinit {
        disconnect()
        mosquitto_destroy(handle)
    }

    private func configure() throws(MQTTError) {
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "setting MQTT v5")
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "setting TCP_NODELAY")
        try check(
            mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(options.receiveMaximum)),
            "setting receive maximum \(options.receiveMaximum)")
        try check(
            mosquitto_int_option(handle, MOSQ_OPT_SEND_MAXIMUM, Int32(options.sendMaximum)),
            "setting send maximum \(options.sendMaximum)")
        let tls = options.credentials
        try check(
            mosquitto_tls_set(handle, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil),
            "loading TLS files (CA '\(tls.caFile)', certificate '\(tls.certificateFile)', key '\(tls.keyFile)')")
        try check(mosquitto_tls_opts_set(handle, 1, "tlsv1.2", nil), "setting TLS options")
        // libmosquitto's own reconnect would resend behind the owner's back: push it an hour away.
        try check(mosquitto_reconnect_delay_set(handle, 3600, 3600, false), "setting the reconnect delay")
        if let will = options.will {
            let properties = try PropertyList.forMessage(will)
            let status = will.payload.withUnsafeBytes { buffer in
                mosquitto_will_set_v5(
                    handle, will.topic, Int32(buffer.count), buffer.baseAddress, Int32(will.qos),
                    will.retain, properties.head)
            }
            try check(status, "setting the will on '\(will.topic)'")
            _ = properties.release()
        }
    }

    /// Opens the connection: the TCP and TLS handshakes and the CONNECT happen in this call (it blocks
    /// for them), then the network thread starts and the CONNACK arrives as a `connected` event (see also
    /// `waitForConnack`). Callers that must not block run it on a thread of their own.
    ///
    /// Why not `connect_async` after `loop_start`: with libmosquitto 2.0.11 over TLS, an asynchronous
    /// connection to a port nobody listens on ended in a keepalive error, after which the network thread's
    /// own reconnect sat in a blocking TLS write and could not be stopped. A blocking connect fails at
    /// once and leaves no thread behind; the network thread only starts on an open connection.
    public func connect() throws(MQTTError) {
        let target = "\(options.host):\(options.port)"
        let properties = PropertyList()
        if let expiry = options.sessionExpiry {
            try properties.addInt32(MQTT_PROP_SESSION_EXPIRY_INTERVAL, expiry)
        }
        let status = mosquitto_connect_bind_v5(
            handle, options.host, Int32(options.port), Int32(options.keepalive),
            nil, properties.head)
        guard status == Int32(MOSQ_ERR_SUCCESS.rawValue) else {
            gate.withLock {
                $0.ended = true
                $0.endCode = Int(status)
            }
            throw .mosquitto(status, "connecting to \(target)")
        }
        try startLoop()
    }

    private func startLoop() throws(MQTTError) {
        try gate.withLock { state throws(MQTTError) in
            guard !state.closing else {
                throw MQTTError(
                    code: Int32(MOSQ_ERR_NO_CONN.rawValue), message: "the client was closed while connecting")
            }
            try check(mosquitto_loop_start(handle), "starting the network thread")
            state.loopRunning = true
            state.handshakeDone = true
        }
    }

    /// Waits up to `timeout` seconds for the CONNACK. Returns its reason; throws when the connection
    /// ended first (a refused certificate shows up that way) or nothing came in time.
    @discardableResult
    public func waitForConnack(timeout: Double) throws(MQTTError) -> ReasonCode {
        let deadline = monotonicSeconds() + timeout
        while true {
            let (connack, ended, code) = gate.withLock { ($0.connack, $0.ended, $0.endCode) }
            if let connack {
                guard !connack.isFailure else {
                    throw MQTTError(
                        reason: connack,
                        message: "broker \(options.host):\(options.port) refused "
                            + "the connection of '\(options.clientID)': \(connack)")
                }
                return connack
            }
            // A TLS handshake refused by the broker can end libmosquitto's thread without any callback;
            // a closed socket before CONNACK means the same as a disconnect.
            if ended || (gate.withLock { $0.handshakeDone } && mosquitto_socket(handle) < 0) {
                throw MQTTError(
                    code: Int32(code),
                    message: "connection to \(options.host):\(options.port) as "
                        + "'\(options.clientID)' ended before CONNACK: "
                        + String(cString: mosquitto_strerror(Int32(code))))
            }
            if monotonicSeconds() > deadline {
                throw MQTTError(message: "no CONNACK from \(options.host):\(options.port) within \(timeout) s")
            }
            usleep(2_000)
        }
    }

    /// True once the connection is over (or the attempt failed): nothing more will arrive on this client.
    public var hasEnded: Bool {
        let (ended, connack, handshakeDone) = gate.withLock { ($0.ended, $0.connack, $0.handshakeDone) }
        return ended || connack?.isFailure == true || (handshakeDone && connack == nil && mosquitto_socket(handle) < 0)
    }

    /// True between a successful CONNACK and the end of the connection.
    public var isConnected: Bool { gate.withLock { $0.connack.map { !$0.isFailure } == true && !$0.ended } }

    /// Sends `message`; `tag` comes back in its `published` event. Returns libmosquitto's message id.
    ///
    /// Fails with `isNotConnected` when there is no connection; nothing is queued for later in that case
    /// that the caller is not told about (the caller keeps its own copy and resends on a new client).
    @discardableResult
    public func publish(_ message: MQTTMessage, tag: UInt64 = 0) throws(MQTTError) -> Int32 {
        let properties = try PropertyList.forMessage(message)
        return try gate.withLock { state throws(MQTTError) -> Int32 in
            guard !state.ended, !state.closing else {
                throw MQTTError(
                    code: Int32(MOSQ_ERR_NO_CONN.rawValue),
                    message: "publish to '\(message.topic)' "
                        + "failed: the connection is closed")
            }
            var messageID: Int32 = 0
            let status = message.payload.withUnsafeBytes { buffer in
                mosquitto_publish_v5(
                    handle, &messageID, message.topic, Int32(buffer.count), buffer.baseAddress,
                    Int32(message.qos), message.retain, properties.head)
            }
            guard status == Int32(MOSQ_ERR_SUCCESS.rawValue) else {
                throw .mosquitto(status, "publish to '\(message.topic)'")
            }
            state.tags[messageID] = tag
            return messageID
        }
    }

    /// Subscribes to `filter` at `qos`; the SUBACK arrives as a `subscribed` event.
    @discardableResult
    public func subscribe(_ filter: String, qos: Int) throws(MQTTError) -> Int32 {
        guard !gate.withLock({ $0.closing }) else {
            throw MQTTError(code: Int32(MOSQ_ERR_NO_CONN.rawValue), message: "the client was closed")
        }
        var messageID: Int32 = 0
        try check(mosquitto_subscribe_v5(handle, &messageID, filter, Int32(qos), 0, nil), "subscribe to '\(filter)'")
        return messageID
    }

    /// Sends DISCONNECT (the will is then not published) and stops the network thread. Idempotent.
    /// `reason` 0x04 ("disconnect with will message") asks the broker to publish the will anyway.
    public func disconnect(reason: Int = 0) {
        let (already, running, live) = gate.withLock { state -> (Bool, Bool, Bool) in
            defer {
                state.closing = true
                state.loopRunning = false
            }
            return (state.closing, state.loopRunning, state.connack.map { !$0.isFailure } == true && !state.ended)
        }
        // Only once: after a forced stop the cancelled thread may have left a libmosquitto mutex locked, and a
        // second mosquitto_disconnect_v5 (from deinit) would wait on it for ever.
        guard !already else { return }
        _ = mosquitto_disconnect_v5(handle, Int32(reason), nil)
        // A live connection ends with DISCONNECT and the thread returns by itself. Otherwise the thread may be
        // inside libmosquitto's own reconnect cycle, which a state change does not always stop: cancel it
        // (it waits in select or connect, both cancellation points).
        if running { _ = mosquitto_loop_stop(handle, !live) }
    }

    /// `action` is only formed on failure: describing an imported C enum costs more than the call itself.
    private func check(_ status: Int32, _ action: @autoclosure () -> String) throws(MQTTError) {
        guard status == Int32(MOSQ_ERR_SUCCESS.rawValue) else { throw .mosquitto(status, action()) }
    }

    // MARK: - Callbacks from libmosquitto's thread

    private static func client(_ user: UnsafeMutableRawPointer?) -> MQTTClient? {
        user.map { Unmanaged<MQTTClient>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Installs the C callbacks. `nonisolated` and capture-free: a closure formed in main-actor code and
    /// called from libmosquitto's thread dies with SIGILL.
    private nonisolated static func installCallbacks(_ handle: OpaquePointer) {
        mosquitto_connect_v5_callback_set(handle) { _, user, reason, flags, _ in
            guard let client = MQTTClient.client(user) else { return }
            let code = ReasonCode(rawValue: Int(reason))
            client.gate.withLock { $0.connack = code }
            client.handler(.connected(reason: code, sessionPresent: flags & 1 == 1))
        }
        mosquitto_disconnect_v5_callback_set(handle) { mosq, user, reason, _ in
            guard let client = MQTTClient.client(user) else { return }
            let expected = client.gate.withLock { state -> Bool in
                state.ended = true
                state.endCode = Int(reason)
                return state.closing
            }
            // Stop libmosquitto's own reconnect loop: a new connection is the owner's decision.
            if !expected { _ = mosquitto_disconnect(mosq) }
            client.handler(.disconnected(code: Int(reason), expected: expected))
        }
        mosquitto_publish_v5_callback_set(handle) { _, user, messageID, reason, _ in
            guard let client = MQTTClient.client(user) else { return }
            let tag = client.gate.withLock { $0.tags.removeValue(forKey: messageID) } ?? 0
            client.handler(.published(tag: tag, messageID: messageID, reason: ReasonCode(rawValue: Int(reason))))
        }
        mosquitto_message_v5_callback_set(handle) { _, user, raw, properties in
            guard let client = MQTTClient.client(user), let raw else { return }
            let source = raw.pointee
            let payload = source.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(source.payloadlen))) }
            var message = MQTTMessage(
                topic: String(cString: source.topic), payload: payload ?? [],
                qos: Int(source.qos), retain: source.retain)
            readMessageProperties(properties, into: &message)
            client.handler(.message(message))
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, user, messageID, count, granted, _ in
            guard let client = MQTTClient.client(user) else { return }
            let codes = (0..<Int(count)).map { ReasonCode(rawValue: Int(granted?[$0] ?? 0x80)) }
            client.handler(.subscribed(messageID: messageID, granted: codes))
        }
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
