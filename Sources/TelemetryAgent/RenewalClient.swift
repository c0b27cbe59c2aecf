import Dispatch
import MQTT
import PKI
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Renews the device's certificate through the CA service (docs/renewal.md) and hands the new pair to the
/// agent, whose buffer carries on through the reconnection.
///
/// A thread checks the wall clock every `renewal.tick`. When the schedule says so, or a rotation order
/// arrives on the command topic, it makes a new key, sends a CSR signed by the current key as an MQTT v5
/// request on the agent's connection, verifies the answer (chain to the bundle's root, clientAuth, the
/// device's name, the new key), writes the pair with `CredentialStore` and calls `replaceCredentials`.
/// Once the agent is connected with the new pair it sends a confirmation, so the CA can retire the old
/// certificate. An expired certificate renews through a separate connection with the recovery credential.
/// Failures retry with exponential backoff and full jitter; every outcome goes into the status's
/// `renewal` line.
public final class RenewalClient: @unchecked Sendable {  // loop state is touched by the loop thread only
    public let configuration: AgentConfiguration
    private let store: CredentialStore
    private let agent: TelemetryAgent
    private let log: @Sendable (String) -> Void
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    private struct Shared {
        var ordered = false
        var stopping = false
        var started = false
        var responses: [[UInt8]: [UInt8]] = [:]
        var waiting: Set<[UInt8]> = []
        var renewals = 0
        var lastReport: String?
        var pair: CredentialStore.Pair?
    }

    // Loop-thread state.
    private var pair: CredentialStore.Pair?
    private var previous: CredentialStore.Pair?
    private var schedule: RenewalSchedule?
    private var backoff: Backoff
    private var nextAttempt = Date.distantPast
    private var confirmAfterConnection: Int?

    /// Prepares renewal for `agent`, whose configuration's TLS files must be the store's current pair.
    public init(
        configuration: AgentConfiguration, store: CredentialStore, agent: TelemetryAgent,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.store = store
        self.agent = agent
        self.log = log
        backoff = Backoff(minimum: configuration.renewal.retryMinimum, maximum: configuration.renewal.retryMaximum)
        let loaded = store.check(
            certificate: configuration.tls.cert, key: configuration.tls.key, chain: configuration.tls.chain
        ).map { Optional($0) }.get(or: nil)
        initialPair = loaded
        pair = loaded
        schedule = loaded.map(makeSchedule)
    }

    /// An agent and its renewal client for the bundle of `configuration`: the store's current pair (the
    /// last good one, with any problem reported in the status) replaces the configuration's TLS files,
    /// and messages reach the renewal client before `onMessage`. Neither is started. Throws when the files
    /// can never make a connection (`CredentialCheck`): a retry would not cure them.
    public static func makeAgent(
        configuration: AgentConfiguration, log: @escaping @Sendable (String) -> Void = { _ in },
        onMessage: (@Sendable (MQTTMessage) -> Void)? = nil
    ) throws(AgentError) -> (agent: TelemetryAgent, renewal: RenewalClient) {
        let store = CredentialStore(configuration: configuration)
        let (pair, problem) = store.current()
        let warnings = try CredentialCheck.verify(configuration, pair: pair, problem: problem)
        var effective = configuration
        if let pair {
            effective.tls.cert = pair.certificate
            effective.tls.key = pair.key
            effective.tls.chain = pair.chain
        }
        let router = MessageRouter()
        let agent = try TelemetryAgent(
            configuration: effective, log: log,
            onMessage: { message in
                router.client.withLock { $0 }?.receive(message)
                onMessage?(message)
            })
        let renewal = RenewalClient(configuration: effective, store: store, agent: agent, log: log)
        router.client.withLock { $0 = renewal }
        if let problem {
            log("credential problem \(problem)")
            renewal.report(problem)
        }
        for warning in warnings {
            log("credential problem \(warning)")
            renewal.report(warning)
        }
        return (agent, renewal)
    }

    /// Starts the loop thread and the subscription to the response topic.
    public func start() {
        let first = shared.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard first, configuration.renewal.enabled else { return }
        agent.subscribe(responseTopic, qos: 1)
        startThread { [self] in runLoop() }
    }

    /// Stops the loop (an attempt in progress ends at its timeout at the latest). Waits until done.
    public func stop() {
        let running = shared.withLock { state -> Bool in
            defer { state.stopping = true }
            return state.started && !state.stopping && configuration.renewal.enabled
        }
        guard running else { return }
        wake.signal()
        finished.wait()
    }

    /// Asks for a renewal at the next tick (what a rotation order does).
    public func renewNow() {
        shared.withLock { $0.ordered = true }
        wake.signal()
    }

    /// How many renewals succeeded since start.
    public var renewals: Int { shared.withLock { $0.renewals } }

    /// The last line reported to the status.
    public var lastReport: String? { shared.withLock { $0.lastReport } }

    /// The pair in use (for tests and the status command).
    public var currentPair: CredentialStore.Pair? { shared.withLock { $0.pair ?? nil } ?? initialPair }

    private let initialPair: CredentialStore.Pair?

    /// Takes responses on the PKI topics and rotation orders on the command topic.
    func receive(_ message: MQTTMessage) {
        if message.topic.hasSuffix("/pki/response"), let correlation = message.correlationData {
            shared.withLock { state in
                if state.waiting.contains(correlation) { state.responses[correlation] = message.payload }
            }
            wake.signal()
        } else if message.topic == "fleet/\(configuration.device)/command",
            let command = try? JSONDecoder().decode(CommandMessage.self, from: Data(message.payload)),
            command.type == "rotate"
        {
            log("rotation order received")
            renewNow()
        }
    }

    private var device: String { configuration.device }
    private var requestTopic: String { "fleet/\(device)/pki/request" }
    private var responseTopic: String { "fleet/\(device)/pki/response" }

    private func report(_ text: String) {
        let changed = shared.withLock { state -> Bool in
            defer { state.lastReport = text }
            return state.lastReport != text
        }
        agent.reportRenewal(text)
        if changed { store.writeNote(text) }
    }

    private func makeSchedule(_ pair: CredentialStore.Pair) -> RenewalSchedule {
        RenewalSchedule(
            notBefore: pair.lifetimeStart, notAfter: pair.notAfter, fraction: configuration.renewal.fraction,
            jitter: configuration.renewal.jitter, random: Double.random(in: 0...1))
    }

    // MARK: - The loop

    private func runLoop() {
        if let schedule, let pair {
            log("renewal scheduled serial=\(pair.serial) at=\(rfc3339(schedule.renewAt))")
        }
        while true {
            let (stopping, ordered) = shared.withLock { ($0.stopping, $0.ordered) }
            if stopping { break }
            let now = Date()
            if let expected = confirmAfterConnection, agent.isOnline, agent.connectionCount > expected {
                confirmAfterConnection = nil
                confirm()
            }
            let due = ordered || (schedule?.isDue(now: now) ?? false)
            if due && now >= nextAttempt {
                attempt(ordered: ordered)
            }
            _ = wake.wait(timeout: .now() + .milliseconds(Int(configuration.renewal.tick * 1000)))
        }
        finished.signal()
    }

    private func attempt(ordered: Bool) {
        guard let pair else {
            report("renewal impossible: no usable credential pair")
            nextAttempt = Date().addingTimeInterval(configuration.renewal.retryMaximum)
            return
        }
        let expired = Date() >= pair.notAfter
        if !expired && !agent.isOnline {
            // Not a failure: the request goes on the agent's connection once it is back.
            report("renewal due; waiting for the broker connection")
            return
        }
        if expired && configuration.tls.recoveryCert == nil {
            report(
                "certificate \(pair.serial) expired at \(rfc3339(pair.notAfter)) and there is no recovery credential; "
                    + "the device must be provisioned again")
            nextAttempt = Date().addingTimeInterval(configuration.renewal.retryMaximum)
            return
        }
        shared.withLock { $0.ordered = false }
        log("renewal started serial=\(pair.serial) ordered=\(ordered) via=\(expired ? "recovery" : "device")")
        switch renew(pair, viaRecovery: expired) {
        case .success(let renewed):
            previous = pair
            self.pair = renewed
            schedule = makeSchedule(renewed)
            backoff.reset()
            nextAttempt = .distantPast
            confirmAfterConnection = agent.connectionCount
            agent.replaceCredentials(certificate: renewed.certificate, key: renewed.key, chain: renewed.chain)
            store.prune(keeping: [renewed, pair])
            shared.withLock {
                $0.renewals += 1
                $0.pair = renewed
            }
            let next = schedule.map { rfc3339($0.renewAt) } ?? "-"
            report(
                "renewed \(rfc3339(Date())): serial \(renewed.serial) valid until \(rfc3339(renewed.notAfter)); "
                    + "next renewal after \(next)")
            log("renewal done serial=\(renewed.serial) notAfter=\(rfc3339(renewed.notAfter))")
        case .failure(let failure):
            let delay = failure.reprovision ? configuration.renewal.retryMaximum : backoff.nextDelay()
            nextAttempt = Date().addingTimeInterval(delay)
            let rounded = (delay * 10).rounded() / 10
            report(
                failure.reprovision
                    ? "renewal refused, the device must be provisioned again: \(failure.reason)"
                    : "renewal failed (attempt \(backoff.failures)): \(failure.reason); retrying in \(rounded) s")
            log("renewal failed reason=\(failure.reason) retryIn=\(rounded)s")
        }
    }

    private struct Failure: Error {
        let reason: String
        var reprovision = false
    }

    /// One attempt: request, answer, verification, storage.
    private func renew(_ pair: CredentialStore.Pair, viaRecovery: Bool) -> Result<CredentialStore.Pair, Failure> {
        do {
            let currentKey = try PrivateKey(pem: String(contentsOfFile: pair.key, encoding: .utf8))
            let certificatePEM = try String(contentsOfFile: pair.certificate, encoding: .utf8)
            let newKey = try PrivateKey.generate(KeyType(name: currentKey.keyDescription) ?? .p256)
            let csr = try CertificateSigningRequest.create(key: newKey, commonName: device).pem
            let body = try signedRequest(type: "renew", csr: csr, certificatePEM: certificatePEM, key: currentKey)
            let answer = try exchange(body, viaRecovery: viaRecovery)
            guard answer.status == "issued" else {
                return .failure(
                    Failure(
                        reason: answer.reason ?? "the CA answered '\(answer.status)'",
                        reprovision: answer.reprovision ?? false))
            }
            guard let issuedPEM = answer.certificate, let chainPEM = answer.chain else {
                return .failure(Failure(reason: "the CA's answer has no certificate or chain"))
            }
            try verify(certificatePEM: issuedPEM, chainPEM: chainPEM, key: newKey)
            return .success(try store.install(certificatePEM: issuedPEM, chainPEM: chainPEM, key: newKey))
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(reason: "\(error)"))
        }
    }

    /// Tells the CA that the agent now uses its newest certificate (signed by its key, on its connection).
    private func confirm() {
        guard let pair else { return }
        do {
            let key = try PrivateKey(pem: String(contentsOfFile: pair.key, encoding: .utf8))
            let body = try signedRequest(
                type: "confirm", csr: nil, certificatePEM: String(contentsOfFile: pair.certificate, encoding: .utf8),
                key: key)
            let answer = try exchange(body, viaRecovery: false)
            log("renewal confirmed status=\(answer.status) reason=\(answer.reason ?? "-")")
        } catch {
            log("renewal confirmation failed error=\(error)")
        }
    }

    private func signedRequest(type: String, csr: String?, certificatePEM: String, key: PrivateKey) throws -> [UInt8] {
        let nonce = Data(randomBytes(16)).base64EncodedString()
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signed = Array("fleet-renewal-v1\n\(device)\n\(type)\n\(nonce)\n\(timestamp)\n\(csr ?? "")".utf8)
        let signature = Data(try Signature.sign(signed, with: key)).base64EncodedString()
        let request = RequestMessage(
            type: type, csr: csr, certificate: certificatePEM, nonce: nonce, timestamp: timestamp,
            signature: signature)
        return Array(try JSONEncoder().encode(request))
    }

    /// Sends `body` and waits for the answer with the same correlation data.
    private func exchange(_ body: [UInt8], viaRecovery: Bool) throws -> AnswerMessage {
        let correlation = randomBytes(16)
        shared.withLock { _ = $0.waiting.insert(correlation) }
        defer {
            shared.withLock { state in
                state.waiting.remove(correlation)
                state.responses.removeValue(forKey: correlation)
            }
        }
        var recoveryClient: MQTTClient?
        defer { recoveryClient?.disconnect() }
        if viaRecovery {
            let level = "recovery~\(device)"
            recoveryClient = try connectRecovery(level: level)
            try recoveryClient?.publish(
                MQTTMessage(
                    topic: "fleet/\(level)/pki/request", payload: body, qos: 1,
                    responseTopic: "fleet/\(level)/pki/response", correlationData: correlation))
        } else {
            try agent.publishDirect(
                MQTTMessage(
                    topic: requestTopic, payload: body, qos: 1, responseTopic: responseTopic,
                    correlationData: correlation))
        }
        let deadline = monotonicSeconds() + configuration.renewal.timeout
        while monotonicSeconds() < deadline {
            if let payload = shared.withLock({ $0.responses[correlation] }) {
                guard let answer = try? JSONDecoder().decode(AnswerMessage.self, from: Data(payload)) else {
                    throw Failure(reason: "the CA's answer is not a renewal answer (docs/renewal.md)")
                }
                return answer
            }
            if shared.withLock({ $0.stopping }) { throw Failure(reason: "the agent is stopping") }
            _ = wake.wait(timeout: .now() + .milliseconds(50))
        }
        throw Failure(reason: "no answer from the CA service within \(configuration.renewal.timeout) s")
    }

    /// A connection as the recovery identity, subscribed to its response topic.
    private func connectRecovery(level: String) throws -> MQTTClient {
        guard let certificate = configuration.tls.recoveryCert, let key = configuration.tls.recoveryKey else {
            throw Failure(reason: "no recovery credential in the configuration")
        }
        let subscribed = SubscribedFlag()
        let options = MQTTConnectOptions(
            host: configuration.broker.host, port: configuration.broker.port, clientID: level,
            credentials: TLSCredentials(caFile: configuration.tls.ca, certificateFile: certificate, keyFile: key),
            keepalive: configuration.broker.keepalive)
        let client = try MQTTClient(options: options, handler: recoveryHandler(subscribed: subscribed))
        try client.connect()
        try client.waitForConnack(timeout: configuration.delivery.connectTimeout)
        try client.subscribe("fleet/\(level)/pki/response", qos: 1)
        let deadline = monotonicSeconds() + configuration.renewal.timeout
        while !subscribed.value.load(ordering: .acquiring) && monotonicSeconds() < deadline { usleep(5_000) }
        return client
    }

    /// Capture-free of actor state (see SWIFT-C-NOTES.md): it only forwards.
    private nonisolated func recoveryHandler(subscribed flag: SubscribedFlag) -> @Sendable (MQTTEvent) -> Void {
        return { @Sendable [self] event in
            switch event {
            case .message(let message): receive(message)
            case .subscribed: flag.set()
            default: break
            }
        }
    }

    /// Checks an issued certificate before it is used: it chains to the bundle's root through the given
    /// chain, is fit for TLS client use, names this device, and holds the new key.
    private func verify(certificatePEM: String, chainPEM: String, key: PrivateKey) throws {
        let certificate = try Certificate(pem: certificatePEM)
        let chain = try Certificate.all(pem: chainPEM)
        let roots = try Certificate.all(pem: String(contentsOfFile: configuration.tls.ca, encoding: .utf8))
        guard key.matches(certificate) else { throw Failure(reason: "the issued certificate is not for the new key") }
        guard certificate.subjectCommonName == device,
            certificate.subjectAlternativeURIs.contains("urn:fleet:device:\(device)")
        else {
            throw Failure(
                reason: "the issued certificate names '\(certificate.subjectCommonName ?? "")', not '\(device)'")
        }
        do {
            try ChainVerifier.verify(certificate, intermediates: chain, roots: roots, purpose: .tlsClient)
        } catch {
            throw Failure(reason: "the issued certificate does not verify: \(error.message)")
        }
    }
}

/// The renewal request as sent (docs/renewal.md).
private struct RequestMessage: Encodable {
    let type: String
    let csr: String?
    let certificate: String
    let nonce: String
    let timestamp: Int64
    let signature: String
}

/// The CA's answer.
private struct AnswerMessage: Decodable {
    let status: String
    let reason: String?
    let reprovision: Bool?
    let certificate: String?
    let chain: String?
}

/// A message on the command topic; only `{"type": "rotate"}` concerns renewal.
private struct CommandMessage: Decodable {
    let type: String
}

/// Lets the agent's message callback reach a renewal client made after the agent.
private final class MessageRouter: Sendable {
    let client = Mutex<RenewalClient?>(nil)
}

private final class SubscribedFlag: Sendable {
    let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
}

/// `count` bytes from the system's CSPRNG.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

extension Result {
    fileprivate func get(or fallback: Success) -> Success { (try? get()) ?? fallback }
}
