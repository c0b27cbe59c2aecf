import Dispatch
import MQTT
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The device's telemetry agent, embeddable in an application.
///
/// Records go into the durable `RecordBuffer` first; `submit` returns once they are committed. One loop
/// thread owns the buffer and the MQTT connection: it commits submissions and acknowledgements together
/// (group commit), hands at most `delivery.window` records to libmosquitto in buffer order, deletes a
/// record only on PUBACK/PUBCOMP below 0x80 (with `delivery.confirm` `consumer`, only on the consumer's
/// receipt: see `ReceiptLedger`), moves refused ones aside, reconnects with backoff and full jitter, and
/// publishes the retained status (with a matching last will) every heartbeat.
///
/// Each connection is a new `MQTTClient`; `replaceCredentials` makes the next one use a new key and
/// certificate while the buffer carries on.
public final class TelemetryAgent: @unchecked Sendable {  // mutable loop state is touched by the loop thread only
    /// The configuration it runs with.
    public let configuration: AgentConfiguration
    private let buffer: RecordBuffer
    private let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let messageHandler: (@Sendable (MQTTMessage) -> Void)?

    private struct Shared {
        var submissions: [Submission] = []
        var events: [(generation: Int, event: MQTTEvent)] = []
        var connectFailures: [(generation: Int, message: String)] = []
        var stopping = false
        var started = false
        var credentials: TLSCredentials?
        /// The leaf certificate file behind `credentials`, and the one the live connection presented.
        var certificateSource = ""
        var onlineCertificate: String?
        var client: MQTTClient?
        var online = false
        var status: AgentStatus?
        var subscriptions: [(filter: String, qos: Int)] = []
        var connections = 0
    }

    // Loop-thread state.
    private var client: MQTTClient?
    private var generation = 0
    private var connected = false
    private var connectDeadline = 0.0
    private var nextAttempt = 0.0
    private var backoff: Backoff
    private var inflight: [Int64: Int] = [:]
    private var cursor: Int64 = 0
    private var delivered: [Int64] = []
    private var rejected: [(id: Int64, reason: Int)] = []
    private var receiptLedger: ReceiptLedger
    private var nextHeartbeat = 0.0
    private var lastError: String?
    private var notAfter: Date?
    private var swapping = false
    private var swapDeadline = 0.0
    private var settleDeadline = Double.infinity
    private var connectionCertificate = ""

    /// The boot epoch this run stamps on new records.
    public let bootEpoch: Int64

    /// Opens the buffer (setting a damaged one aside) and starts a new boot epoch. Nothing connects until
    /// `start()`. `onMessage` receives messages on the command topic and on `subscribe`d filters.
    public init(
        configuration: AgentConfiguration, log: @escaping @Sendable (String) -> Void = { _ in },
        onMessage: (@Sendable (MQTTMessage) -> Void)? = nil
    ) throws(AgentError) {
        self.configuration = configuration
        self.log = log
        self.messageHandler = onMessage
        buffer = try RecordBuffer(
            path: configuration.buffer.path, durability: configuration.buffer.durability,
            limits: .init(maxRows: configuration.buffer.maxRows, maxBytes: configuration.buffer.maxBytes),
            streams: configuration.streams, report: log)
        bootEpoch = try buffer.beginEpoch()
        backoff = Backoff(
            minimum: configuration.delivery.reconnectMinimum,
            maximum: configuration.delivery.reconnectMaximum)
        notAfter = CertificateExpiry.notAfter(path: configuration.tls.cert)
        receiptLedger = ReceiptLedger(configuration: configuration)
        let receiptTopic = receiptLedger.enabled ? [(receiptLedger.topic, 1)] : []
        shared.withLock {
            $0.credentials = Self.credentials(
                configuration.tls, cert: configuration.tls.cert,
                key: configuration.tls.key, chain: configuration.tls.chain,
                bufferPath: configuration.buffer.path)
            $0.certificateSource = configuration.tls.cert
            $0.subscriptions = [("fleet/\(configuration.device)/command", 1)] + receiptTopic
        }
        if let aside = buffer.setAsidePath { lastError = "buffer file was damaged and set aside at \(aside)" }
        refreshStatus()
    }

    /// Where the damaged buffer file went, when one was found at start.
    public var bufferSetAsidePath: String? { buffer.setAsidePath }

    /// Starts the loop thread: it connects and delivers until `stop()`.
    public func start() {
        let first = shared.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        startThread { [self] in runLoop() }
    }

    /// Commits `records` to the buffer and returns what became of each; returns only once accepted
    /// records are durable (as `buffer.durability` defines). Safe from any thread.
    public func submit(_ records: [IncomingRecord]) -> [AppendOutcome] {
        guard !records.isEmpty else { return [] }
        let submission = Submission(records)
        let accepted = shared.withLock { state -> Bool in
            guard !state.stopping, state.started else { return false }
            state.submissions.append(submission)
            return true
        }
        guard accepted else { return records.map { _ in .refused("the agent is not running") } }
        wake.signal()
        submission.done.wait()
        return submission.outcomes
    }

    /// Commits one record; returns its sequence number or throws the refusal.
    @discardableResult
    public func submit(stream: String, payload: [UInt8], capturedMilliseconds: Int64? = nil) throws(AgentError) -> Int64
    {
        let outcome = submit([
            IncomingRecord(stream: stream, payload: payload, capturedMilliseconds: capturedMilliseconds)
        ])
        guard case .accepted(let sequence, _)? = outcome.first else {
            if case .refused(let reason)? = outcome.first { throw AgentError("record refused: \(reason)") }
            throw AgentError("record refused")
        }
        return sequence
    }

    /// Makes the agent use a new certificate and key: in-flight records get a moment to be acknowledged,
    /// then the connection is closed and a new one opened with the new pair. The buffer carries on;
    /// anything unacknowledged is sent again on the new connection.
    public func replaceCredentials(certificate: String, key: String, chain: String?) {
        let credentials = Self.credentials(
            configuration.tls, cert: certificate, key: key, chain: chain,
            bufferPath: configuration.buffer.path)
        shared.withLock {
            $0.credentials = credentials
            $0.certificateSource = certificate
        }
        swapRequest.withLock { $0 = (certificate, true) }
        wake.signal()
    }

    private let swapRequest = Mutex<(certificate: String, pending: Bool)>(("", false))

    /// Adds a subscription, made on every connection from now on (and at once when connected).
    public func subscribe(_ filter: String, qos: Int) {
        let current = shared.withLock { state -> MQTTClient? in
            state.subscriptions.append((filter, qos))
            return state.online ? state.client : nil
        }
        _ = try? current?.subscribe(filter, qos: qos)
    }

    /// Publishes `message` on the current connection, outside the buffer (for request/response traffic
    /// such as renewal). Fails when not connected; nothing is kept for later.
    public func publishDirect(_ message: MQTTMessage) throws(MQTTError) {
        let current = shared.withLock { $0.online ? $0.client : nil }
        guard let current else { throw MQTTError(message: "publish to '\(message.topic)' failed: not connected") }
        try current.publish(message, tag: 0)
    }

    /// Sets the renewal line of the status (nil clears it); it goes out with the next heartbeat and in the
    /// will, so a failing renewal is visible upstream.
    public func reportRenewal(_ text: String?) {
        renewalNote.withLock { $0 = text }
        wake.signal()
    }

    private let renewalNote = Mutex<String?>(nil)

    /// The certificate file the live connection presented, nil while offline. After `replaceCredentials`
    /// it names the new certificate once the agent has reconnected with it.
    public var connectedCertificate: String? { shared.withLock { $0.onlineCertificate } }

    /// True while connected to the broker.
    public var isOnline: Bool { shared.withLock { $0.online } }

    /// How many connections have been accepted (CONNACK) since start; the renewal client uses it to see
    /// that a connection with new credentials came up.
    public var connectionCount: Int { shared.withLock { $0.connections } }

    /// The latest status: refreshed after each commit of submitted records, every second and every heartbeat.
    public func status() -> AgentStatus {
        // Made by the loop thread (and once by init): the buffer's connection is never used from here.
        shared.withLock { $0.status }!
    }

    /// Stops: new submissions are refused, in-flight records get up to `delivery.drainTimeout` to be
    /// acknowledged, an offline status is published, and the buffer is closed cleanly. Waits until done.
    public func stop() {
        let (wasStarted, alreadyStopping) = shared.withLock { state -> (Bool, Bool) in
            defer { state.stopping = true }
            return (state.started, state.stopping)
        }
        guard !alreadyStopping else { return }
        guard wasStarted else {
            buffer.close()
            return
        }
        wake.signal()
        finished.wait()
    }

    // MARK: - The loop

    private func runLoop() {
        log("agent started device=\(configuration.device) epoch=\(bootEpoch) buffer=\(configuration.buffer.path)")
        var drainDeadline: Double?
        var nextStatus = 0.0
        while true {
            let (submissions, events, failures, stopping) = shared.withLock { state in
                defer {
                    state.submissions.removeAll()
                    state.events.removeAll()
                    state.connectFailures.removeAll()
                }
                return (state.submissions, state.events, state.connectFailures, state.stopping)
            }
            for (eventGeneration, event) in events { handle(event, from: eventGeneration) }
            for failure in failures where failure.generation == generation && client != nil && !connected {
                lastError = failure.message
                log("connect failed error=\(failure.message)")
                closeConnection(retry: true)
            }
            // Acknowledgements are settled in groups (a few ms or 256 at a time) unless producers wait anyway.
            let settleDue =
                delivered.count + rejected.count + receiptLedger.count >= 256
                || hasSettlement && monotonicSeconds() >= settleDeadline
            if !submissions.isEmpty || settleDue || stopping { commit(submissions) }
            if !hasSettlement {
                settleDeadline = .infinity
            } else if settleDeadline == .infinity {
                settleDeadline = monotonicSeconds() + 0.005
            }

            let now = monotonicSeconds()
            if stopping && drainDeadline == nil {
                drainDeadline = now + configuration.delivery.drainTimeout
                log("agent stopping inflight=\(inflight.count)")
            }
            if let deadline = drainDeadline, inflight.isEmpty || now >= deadline || !connected {
                commit([])
                shutDown()
                return
            }
            if drainDeadline == nil {
                manageConnection(now: now)
                fillWindow()
            }
            if connected && now >= nextHeartbeat {
                nextHeartbeat = now + configuration.heartbeat
                publishStatus()
                writeMetrics()
            } else if now >= nextStatus {
                nextStatus = now + 1
                refreshStatus()
            }
            let pause = settleDeadline.isFinite || !inflight.isEmpty ? 5 : (connected ? 50 : 100)
            _ = wake.wait(timeout: .now() + .milliseconds(pause))
        }
    }

    /// True when acknowledgements or receipts wait to be committed.
    private var hasSettlement: Bool { !delivered.isEmpty || !rejected.isEmpty || receiptLedger.hasWork }

    /// Commits submissions, settled acknowledgements and receipts in one transaction; signals the producers.
    private func commit(_ submissions: [Submission]) {
        guard !submissions.isEmpty || hasSettlement else { return }
        let records = submissions.flatMap(\.records)
        var outcomes: [AppendOutcome]
        do {
            let settlement = Settlement(
                delivered: delivered, acknowledged: receiptLedger.acknowledged, rejected: rejected,
                receipts: receiptLedger.receipts)
            outcomes = try buffer.apply(append: records, settlement: settlement, now: nowMilliseconds())
            delivered.removeAll()
            rejected.removeAll()
            receiptLedger.clear()
        } catch {
            log("buffer update failed error=\(error)")
            lastError = error.message
            outcomes = records.map { _ in .refused(error.message) }
        }
        // Producers that look at the status after their submit returns must see their records in it.
        if !submissions.isEmpty { refreshStatus() }
        var offset = 0
        for submission in submissions {
            submission.outcomes = Array(outcomes[offset..<(offset + submission.records.count)])
            offset += submission.records.count
            submission.done.signal()
        }
    }

    private func handle(_ event: MQTTEvent, from eventGeneration: Int) {
        switch event {
        case .published(let tag, _, let reason):
            // The tag is the record's row id; an acknowledgement counts whatever connection carried it.
            guard tag != 0 else { return }
            let (id, awaitsReceipt) = ReceiptLedger.record(tag: tag)
            if eventGeneration == generation { inflight.removeValue(forKey: id) }
            if reason.isFailure {
                log("broker refused a record id=\(id) reason=\(reason)")
                rejected.append((id, reason.rawValue))
            } else if awaitsReceipt {
                receiptLedger.acknowledged.append(id)
            } else {
                delivered.append(id)
            }
        case .connected(let reason, _):
            guard eventGeneration == generation else { return }
            if reason.isFailure {
                lastError = "the broker refused the connection: \(reason)"
                log("connection refused reason=\(reason)")
                closeConnection(retry: true)
                return
            }
            connected = true
            backoff.reset()
            inflight.removeAll()
            cursor = 0
            lastError = nil
            resendAwaitingRecords()
            let subscriptions = shared.withLock { state -> [(filter: String, qos: Int)] in
                state.online = true
                state.onlineCertificate = connectionCertificate
                state.connections += 1
                return state.subscriptions
            }
            log("connected broker=\(configuration.broker.host):\(configuration.broker.port)")
            for subscription in subscriptions { _ = try? client?.subscribe(subscription.filter, qos: subscription.qos) }
            nextHeartbeat = 0
        case .disconnected(let code, let expected):
            guard eventGeneration == generation, !expected else { return }
            if connected {
                lastError = "connection lost (code \(code))"
                log("connection lost code=\(code) inflight=\(inflight.count)")
            } else {
                // Over TLS 1.3 a broker that rejects the client certificate closes the connection after the
                // handshake, before CONNACK: say so, since that is what an operator needs to look at.
                lastError = "the broker closed the connection before accepting it (code \(code)): the device "
                    + "certificate may be revoked, expired or not from the broker's CA; see the broker's log"
                log("connection closed before CONNACK code=\(code) hint=certificate-revoked-expired-or-untrusted")
            }
            closeConnection(retry: true)
        case .message(let message):
            if receiptLedger.accept(message, log: log) { return }
            messageHandler?(message)
        case .subscribed:
            break
        }
    }

    private func manageConnection(now: Double) {
        if swapRequest.withLock({ $0.pending }) && !swapping {
            swapping = true
            swapDeadline = now + min(5, configuration.delivery.drainTimeout)
            log("replacing credentials inflight=\(inflight.count)")
        }
        if swapping, client == nil || inflight.isEmpty || now >= swapDeadline || !connected {
            let certificate = swapRequest.withLock { state -> String in
                state.pending = false
                return state.certificate
            }
            swapping = false
            notAfter = CertificateExpiry.notAfter(path: certificate)
            if client != nil { closeConnection(retry: false) }
            nextAttempt = now
        }
        if let client, !connected {
            if now >= connectDeadline || client.hasEnded {
                lastError = lastError ?? "no CONNACK from the broker"
                closeConnection(retry: true)
            }
            return
        }
        guard client == nil, now >= nextAttempt else { return }
        openConnection(now: now)
    }

    private func openConnection(now: Double) {
        generation += 1
        let thisGeneration = generation
        let (credentials, certificate) = shared.withLock { ($0.credentials!, $0.certificateSource) }
        connectionCertificate = certificate
        let offline = makeStatus(online: false)
        let options = MQTTConnectOptions(
            host: configuration.broker.host, port: configuration.broker.port, clientID: configuration.device,
            credentials: credentials, keepalive: configuration.broker.keepalive, cleanStart: true,
            will: MQTTMessage(topic: statusTopic, payload: offline.json, qos: 1, retain: true),
            receiveMaximum: 100, sendMaximum: configuration.delivery.window)
        do {
            let client = try MQTTClient(options: options) { [weak self] event in
                guard let self else { return }
                let queued = self.shared.withLock { state -> Int in
                    state.events.append((thisGeneration, event))
                    return state.events.count
                }
                // Acknowledgements wake the loop in groups (it also looks every few ms while records are in
                // flight): one wake-up per acknowledgement cost more than the rest of the delivery path.
                if case .published = event, queued % 128 != 0 { return }
                self.wake.signal()
            }
            self.client = client
            shared.withLock { $0.client = client }
            connectDeadline = now + configuration.delivery.connectTimeout
            // The handshakes block; they run on a thread of their own so that submissions keep being
            // committed meanwhile. A late success on an abandoned client finds it closed and stops.
            startThread { [weak self] in
                do {
                    try client.connect()
                } catch {
                    guard let self else { return }
                    let message = (error as? MQTTError)?.message ?? "\(error)"
                    self.shared.withLock { $0.connectFailures.append((thisGeneration, message)) }
                    self.wake.signal()
                }
            }
        } catch {
            lastError = error.message
            log("connect failed error=\(error.message)")
            closeConnection(retry: true)
        }
    }

    /// Ends the current connection (if any). Unacknowledged records stay in the buffer and go again,
    /// from the oldest, on the next connection.
    private func closeConnection(retry: Bool) {
        let old = client
        client = nil
        connected = false
        inflight.removeAll()
        cursor = 0
        shared.withLock {
            $0.online = false
            $0.client = nil
            $0.onlineCertificate = nil
        }
        old?.disconnect()
        if retry {
            let delay = backoff.nextDelay()
            nextAttempt = monotonicSeconds() + delay
            log("reconnecting in=\((delay * 1000).rounded() / 1000)s")
        }
    }

    /// Hands records to libmosquitto, oldest first, until the window is full.
    private func fillWindow() {
        guard connected, let client, !swapping else { return }
        let room = configuration.delivery.window - inflight.count
        // Refill in chunks, not one query per acknowledgement.
        guard room > 0, room >= configuration.delivery.window / 4 || inflight.isEmpty else { return }
        // After a reconnect everything unacknowledged goes again: settle first what was acknowledged.
        if cursor == 0 && hasSettlement { commit([]) }
        let now = nowMilliseconds()
        guard resendOverdueRecords(client: client, room: room, now: now) else { return }
        let records: [BufferedRecord]
        do {
            records = try buffer.pending(after: cursor, limit: configuration.delivery.window - inflight.count, now: now)
        } catch {
            log("buffer read failed error=\(error)")
            return
        }
        for record in records {
            guard let stream = configuration.stream(record.stream) else {
                // A stream dropped from the configuration: its records wait for their TTL, never block others.
                cursor = record.id
                continue
            }
            let message = record.message(on: stream, now: now)
            inflight[record.id] = stream.qos
            do {
                try client.publish(message, tag: receiptLedger.tag(id: record.id, qos: stream.qos))
            } catch {
                inflight.removeValue(forKey: record.id)
                log("publish failed id=\(record.id) error=\(error)")
                guard !error.isNotConnected, error.code != -1 else { return }
                // libmosquitto refused this message itself (too large, bad UTF-8): it would fail again on every
                // connection, so it moves aside like a broker refusal, as 0x80 "unspecified error".
                rejected.append((record.id, 0x80))
                cursor = record.id
                continue
            }
            cursor = record.id
        }
    }

    /// With `confirm: consumer`, sends again, oldest first, acknowledged records whose receipt is overdue.
    /// Returns false when the connection failed under it.
    private func resendOverdueRecords(client: MQTTClient, room: Int, now: Int64) -> Bool {
        let clock = monotonicSeconds()
        guard let threshold = receiptLedger.overdueThreshold(now: clock, wallMilliseconds: now) else { return true }
        let overdue: [BufferedRecord]
        do {
            overdue = try buffer.overdue(acknowledgedBefore: threshold, limit: room + inflight.count, now: now)
        } catch {
            log("buffer read failed error=\(error)")
            return true
        }
        var sent = 0
        for record in overdue where inflight[record.id] == nil && sent < room {
            guard let stream = configuration.stream(record.stream) else { continue }
            inflight[record.id] = stream.qos
            do {
                try client.publish(
                    record.message(on: stream, now: now), tag: receiptLedger.tag(id: record.id, qos: stream.qos))
            } catch {
                inflight.removeValue(forKey: record.id)
                log("publish failed id=\(record.id) error=\(error)")
                return false
            }
            sent += 1
        }
        if sent > 0 { log("receipt overdue, sending again records=\(sent)") }
        return true
    }

    /// With `confirm: consumer`, a new connection sends again every record still awaiting its receipt (the
    /// broker that acknowledged it may have lost it): settle what was acknowledged, then make them pending.
    private func resendAwaitingRecords() {
        guard receiptLedger.enabled else { return }
        commit([])
        do {
            let count = try buffer.resendAwaiting()
            if count > 0 { log("sending again records awaiting receipt count=\(count)") }
        } catch {
            log("buffer update failed error=\(error)")
            lastError = error.message
        }
    }

    // MARK: - Status

    private var statusTopic: String { "fleet/\(configuration.device)/status" }

    private func makeStatus(online: Bool) -> AgentStatus {
        let snapshot =
            (try? buffer.snapshot(now: nowMilliseconds()))
            ?? BufferSnapshot(rows: 0, bytes: 0, counters: BufferCounters(), epoch: bootEpoch, nextSequence: 0)
        var status = AgentStatus(
            device: configuration.device, online: online, snapshot: snapshot, notAfter: notAfter,
            lastError: online ? nil : lastError)
        status.renewal = renewalNote.withLock { $0 }
        return status
    }

    private func refreshStatus() {
        let status = makeStatus(online: connected)
        shared.withLock { $0.status = status }
    }

    private func publishStatus() {
        let status = makeStatus(online: true)
        shared.withLock { $0.status = status }
        _ = try? client?.publish(MQTTMessage(topic: statusTopic, payload: status.json, qos: 1, retain: true), tag: 0)
    }

    private func writeMetrics() {
        guard let path = configuration.metricsFile else { return }
        let text = makeStatus(online: connected).prometheusText
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else { return }
        rename(temporary, path)
    }

    private func shutDown() {
        if connected, let client {
            let status = makeStatus(online: false)
            _ = try? client.publish(MQTTMessage(topic: statusTopic, payload: status.json, qos: 1, retain: true), tag: 0)
            usleep(50_000)
        }
        closeConnection(retry: false)
        let status = makeStatus(online: false)
        shared.withLock { $0.status = status }
        writeMetrics()
        let waiting = shared.withLock { state -> [Submission] in
            defer { state.submissions.removeAll() }
            return state.submissions
        }
        for submission in waiting {
            submission.outcomes = submission.records.map { _ in .refused("the agent is stopping") }
            submission.done.signal()
        }
        buffer.close()
        log("agent stopped backlog=\(status.backlog)")
        finished.signal()
    }

    /// The TLS files for a connection. libmosquitto sends the certificate file as the chain, so when
    /// the bundle keeps the issuing CA apart, leaf and chain are joined into a file beside the buffer.
    private static func credentials(
        _ tls: AgentConfiguration.TLSFilesConfiguration, cert: String, key: String, chain: String?, bufferPath: String
    ) -> TLSCredentials {
        var certificateFile = cert
        if let chain, let leaf = FileManager.default.contents(atPath: cert),
            let issuing = FileManager.default.contents(atPath: chain)
        {
            let joined = bufferPath + ".client-chain.pem"
            var data = leaf
            if data.last != UInt8(ascii: "\n") { data.append(UInt8(ascii: "\n")) }
            data.append(issuing)
            if FileManager.default.createFile(atPath: joined + ".tmp", contents: data),
                rename(joined + ".tmp", joined) == 0
            {
                certificateFile = joined
            }
        }
        return TLSCredentials(caFile: tls.ca, certificateFile: certificateFile, keyFile: key)
    }
}
