import Dispatch
import FleetCA
import Foundation
import MQTT
import PKI
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `fleetctl serve`: the CA's online service.
///
/// One thread (the caller of `run`) owns the CA and the MQTT connection: it answers renewal requests on
/// `fleet/+/pki/request` with MQTT v5 request/response (docs/renewal.md), sends the rotation orders that
/// `fleetctl rotate --online` leaves in the inventory, and re-signs the CRL before it is due. With a
/// broker folder, a second thread (with a CA of its own) runs the broker sync on a schedule. Requests are
/// handled one at a time, in arrival order; libmosquitto's thread only queues events.
public final class RenewalService: @unchecked Sendable {  // loop state is touched by the `run` thread only
    /// Where and how the service works.
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var credentials: TLSCredentials
        /// A broker folder from `broker init`: synced every `syncInterval` seconds when set.
        public var brokerFolder: String?
        public var syncInterval: Double
        /// How often the CRL's due date is checked (it is re-signed after half its lifetime).
        public var crlCheckInterval: Double
        /// How often pending rotation orders are looked for.
        public var orderInterval: Double

        public init(
            host: String, port: Int, credentials: TLSCredentials, brokerFolder: String? = nil,
            syncInterval: Double = 300, crlCheckInterval: Double = 60, orderInterval: Double = 0.25
        ) {
            self.host = host
            self.port = port
            self.credentials = credentials
            self.brokerFolder = brokerFolder
            self.syncInterval = syncInterval
            self.crlCheckInterval = crlCheckInterval
            self.orderInterval = orderInterval
        }
    }

    public let options: Options
    private let home: CAHome
    private let passphrase: String?
    private let log: @Sendable (String) -> Void
    private let events = Mutex<[MQTTEvent]>([])
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let syncStopped = DispatchSemaphore(value: 0)

    /// Counts of what the service decided, for logs and tests.
    public private(set) var issued = 0
    public private(set) var refused = 0

    public init(
        home: CAHome, passphrase: String?, options: Options, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.home = home
        self.passphrase = passphrase
        self.options = options
        self.log = log
    }

    /// Asks `run` to return; safe from any thread (a signal-waiting thread, say).
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake.signal()
    }

    /// Serves until `stop()`. Throws only when the CA cannot be opened.
    public func run() throws {
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        let syncing = options.brokerFolder != nil
        if let folder = options.brokerFolder { startSyncThread(folder: folder) }
        var client: MQTTClient?
        var retryDelay = 0.25
        var nextConnect = 0.0
        var nextOrders = 0.0
        var nextCRL = 0.0
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let now = monotonicSeconds()
            if client == nil && now >= nextConnect {
                client = connect()
                if client == nil {
                    nextConnect = now + Double.random(in: 0...retryDelay)
                    retryDelay = min(10, retryDelay * 2)
                } else {
                    retryDelay = 0.25
                }
            }
            let pending = events.withLock { queue -> [MQTTEvent] in
                defer { queue.removeAll() }
                return queue
            }
            for event in pending {
                switch event {
                case .message(let message):
                    if let client { answer(message, authority: authority, client: client) }
                case .disconnected(let code, _):
                    log("serve connection lost code=\(code)")
                    client?.disconnect()
                    client = nil
                    nextConnect = monotonicSeconds() + Double.random(in: 0...retryDelay)
                default:
                    break
                }
            }
            if let client, now >= nextOrders {
                nextOrders = now + options.orderInterval
                sendOrders(authority: authority, client: client)
            }
            if now >= nextCRL {
                nextCRL = now + options.crlCheckInterval
                do { _ = try authority.currentCRL() } catch { log("serve CRL re-sign failed error=\(error)") }
            }
            _ = wake.wait(timeout: .now() + .milliseconds(50))
        }
        client?.disconnect()
        if syncing { syncStopped.wait() }
        log("serve stopped issued=\(issued) refused=\(refused)")
    }

    // MARK: - Connection

    private func connect() -> MQTTClient? {
        let connectOptions = MQTTConnectOptions(
            host: options.host, port: options.port, clientID: ServiceIdentity.name, credentials: options.credentials,
            keepalive: 30, cleanStart: true, receiveMaximum: 1000, sendMaximum: 1000)
        do {
            let client = try MQTTClient(options: connectOptions, handler: makeHandler())
            try client.connect()
            try client.waitForConnack(timeout: 10)
            try client.subscribe("fleet/+/pki/request", qos: 1)
            log("serve connected broker=\(options.host):\(options.port)")
            return client
        } catch {
            log("serve connect failed broker=\(options.host):\(options.port) error=\(error)")
            return nil
        }
    }

    /// The event handler: capture-free of actor state, it only queues (see SWIFT-C-NOTES.md).
    private nonisolated func makeHandler() -> @Sendable (MQTTEvent) -> Void {
        return { @Sendable [self] event in
            switch event {
            case .message, .disconnected:
                events.withLock { $0.append(event) }
                wake.signal()
            default:
                break
            }
        }
    }

    // MARK: - Requests

    private func answer(_ message: MQTTMessage, authority: CertificateAuthority, client: MQTTClient) {
        let levels = message.topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard levels.count == 4, levels[0] == "fleet", levels[2] == "pki", levels[3] == "request" else { return }
        let (device, recovery) = CertificateAuthority.device(fromTopicLevel: levels[1])
        let responseTopic = "fleet/\(levels[1])/pki/response"
        var response: [String: Any]
        do {
            if let asked = message.responseTopic, asked != responseTopic {
                // The service may publish on every device's topics: never where a request points it.
                let reason = "the response topic must be '\(responseTopic)', not '\(asked)'"
                try authority.recordRenewalRefusal(topicDevice: device, reason: reason)
                response = ["status": "refused", "reason": reason, "reprovision": false]
            } else if let request = try? JSONDecoder().decode(RenewalRequest.self, from: Data(message.payload)) {
                response = try decide(device: device, recovery: recovery, request: request, authority: authority)
            } else {
                let reason = "the message on '\(message.topic)' is not a renewal request (JSON, docs/renewal.md)"
                try authority.recordRenewalRefusal(topicDevice: device, reason: reason)
                response = ["status": "refused", "reason": reason, "reprovision": false]
            }
        } catch {
            log("serve request failed device=\(device) error=\(error)")
            response = ["status": "refused", "reason": "the CA failed to handle the request: \(error)"]
        }
        if response["status"] as? String == "refused" { refused += 1 }
        let payload = (try? JSONSerialization.data(withJSONObject: response, options: [.sortedKeys])) ?? Data()
        do {
            try client.publish(
                MQTTMessage(
                    topic: responseTopic, payload: Array(payload), qos: 1,
                    correlationData: message.correlationData))
        } catch {
            log("serve response failed topic=\(responseTopic) error=\(error)")
        }
    }

    private func decide(
        device: String, recovery: Bool, request: RenewalRequest, authority: CertificateAuthority
    ) throws -> [String: Any] {
        switch try authority.renew(topicDevice: device, viaRecovery: recovery, request: request) {
        case .issued(let credential):
            issued += 1
            let via = recovery ? "recovery" : "device"
            log("serve renewed device=\(device) serial=\(credential.record.serial) via=\(via)")
            return [
                "status": "issued", "certificate": credential.record.pem, "chain": try authority.chainPEM,
                "serial": credential.record.serial,
            ]
        case .confirmed(let retired):
            log("serve confirmed device=\(device) retired=\(retired.count)")
            return ["status": "confirmed", "retired": retired]
        case .refused(let reason, let reprovision):
            log("serve refused device=\(device) reason=\(reason)")
            return ["status": "refused", "reason": reason, "reprovision": reprovision]
        }
    }

    private func sendOrders(authority: CertificateAuthority, client: MQTTClient) {
        let orders: [RotationOrder]
        do { orders = try authority.pendingRotationOrders() } catch {
            log("serve cannot read rotation orders error=\(error)")
            return
        }
        for order in orders {
            let payload = #"{"type":"rotate","order":\#(order.id)}"#
            do {
                try client.publish(
                    MQTTMessage(topic: "fleet/\(order.device)/command", payload: Array(payload.utf8), qos: 1))
                try authority.markRotationOrderSent(id: order.id)
                log("serve sent rotation order device=\(order.device) order=\(order.id)")
            } catch {
                log("serve rotation order failed device=\(order.device) error=\(error)")
                return
            }
        }
    }

    // MARK: - Broker sync

    private func startSyncThread(folder: String) {
        let interval = options.syncInterval
        let done = syncStopped
        let thread = Thread { [self] in
            defer { done.signal() }
            var next = 0.0
            while !stopping.load(ordering: .sequentiallyConsistent) {
                if monotonicSeconds() >= next {
                    next = monotonicSeconds() + interval
                    do {
                        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
                        let report = try BrokerSync(layout: BrokerLayout(folder: folder), authority: authority).run()
                        log(
                            "serve broker sync crl=\(report.crlNumber.map(String.init) ?? "-") "
                                + "revoked=\(report.revokedCertificates) proven=\(report.proven)")
                    } catch {
                        log("serve broker sync failed error=\(error)")
                    }
                }
                usleep(100_000)
            }
        }
        thread.start()
    }
}
