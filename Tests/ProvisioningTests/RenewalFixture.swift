import FleetCA
import Foundation
import MQTT
import TelemetryAgent
import TelemetryIngest
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A CA, a broker from `broker init`, and the real `fleetctl serve` process, for the renewal tests; agents
/// run in the test process with the same wiring as `fleet-agent run` (`RenewalClient.makeAgent`).
final class RenewalFixture: @unchecked Sendable {  // used from one test at a time
    let fleet: FleetBrokerFixture
    private(set) var serve: SpawnedProcess?
    private var agents: [(TelemetryAgent, RenewalClient)] = []

    var home: String { fleet.home }
    var serveLogPath: String { fleet.folder.file("serve.log") }
    var serveLog: String { (try? String(contentsOfFile: serveLogPath, encoding: .utf8)) ?? "" }

    /// `renewal` sets keys of the CA's `renewal` settings (such as `graceSeconds`).
    init(renewal: [String: Any] = [:]) throws {
        fleet = try FleetBrokerFixture()
        let path = home + "/config.json"
        var configuration =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            as? [String: Any] ?? [:]
        var settings: [String: Any] = ["rateLimit": 50, "rateWindowSeconds": 60]
        settings.merge(renewal) { $1 }
        configuration["renewal"] = settings
        configuration["broker"] = ["host": "127.0.0.1", "port": Int(fleet.port)]
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: path))
        try check(fleet.fleetctl(["service", "add", "fleet-ca", "--out", home + "/services/fleet-ca"]))
        _ = try fleet.service("telemetry-consumer")
    }

    deinit {
        for (agent, renewal) in agents {
            renewal.stop()
            agent.stop()
        }
        stopServe()
        fleet.broker?.stop()
    }

    /// Provisions `id` with a certificate valid for `validity` (a duration such as `20s`); returns the bundle.
    func provision(_ id: String, validity: String? = nil) throws -> String {
        let bundle = fleet.folder.file("devices/\(id)")
        try check(
            fleet.fleetctl(
                ["provision", id, "--generate-key", "--out", bundle, "--group", "sensors"]
                    + (validity.map { ["--validity", $0] } ?? [])))
        return bundle
    }

    /// Starts the broker and `fleetctl serve --broker-dir`, and waits until serve is connected and has
    /// finished its first broker sync.
    func start() throws {
        try fleet.startBroker()
        try startServe()
    }

    func startServe() throws {
        func count(_ text: String) -> Int { serveLog.components(separatedBy: text).count - 1 }
        let (connected, synced) = (count("serve connected"), count("serve broker sync"))
        serve = try SpawnedProcess(
            builtProduct("fleetctl"),
            ["serve", "--home", home, "--broker-dir", fleet.brokerFolder, "--crl-check", "1s"],
            outputPath: serveLogPath)
        guard waitUntil(timeout: 30, { count("serve connected") > connected && count("serve broker sync") > synced })
        else { throw FixtureFailure(message: "fleetctl serve did not come up: \(serveLog)") }
    }

    /// Stops serve with SIGTERM; returns whether it exited.
    @discardableResult
    func stopServe() -> Bool {
        guard let serve else { return true }
        serve.signal(SIGTERM)
        return serve.waitForExit(timeout: 20)
    }

    /// An agent and renewal client for `bundle`, tuned for tests (fast ticks, no collector, no socket).
    func agent(_ bundle: String) throws -> (agent: TelemetryAgent, renewal: RenewalClient) {
        var configuration = try AgentConfiguration.load(path: bundle + "/agent.json")
        configuration.collector.enabled = false
        configuration.socket = nil
        configuration.metricsFile = nil
        configuration.heartbeat = 1
        configuration.delivery.reconnectMinimum = 0.1
        configuration.delivery.reconnectMaximum = 0.5
        configuration.delivery.connectTimeout = 5
        configuration.renewal.tick = 0.1
        configuration.renewal.retryMinimum = 0.3
        configuration.renewal.retryMaximum = 2
        configuration.renewal.timeout = 5
        let made = try RenewalClient.makeAgent(configuration: configuration)
        agents.append(made)
        return made
    }

    /// The telemetry consumer, storing into `database`.
    func ingest(database: String) throws -> TelemetryIngest {
        let folder = fleet.folder.file("services/telemetry-consumer")
        let ingest = try TelemetryIngest(
            options: .init(
                host: "127.0.0.1", port: Int(fleet.port), clientID: "telemetry-consumer",
                credentials: TLSCredentials(
                    caFile: folder + "/root.pem", certificateFile: folder + "/cert.pem", keyFile: folder + "/key.pem")),
            databasePath: database)
        ingest.start()
        return ingest
    }

    /// The inventory's view of a device.
    func device(_ id: String) throws -> DeviceRecord? {
        try CertificateAuthority.open(home: CAHome(path: home)).device(id: id)
    }

    /// Audit records of `action` about `subject`.
    func audit(_ action: String, subject: String) throws -> [AuditRecord] {
        try CertificateAuthority.open(home: CAHome(path: home)).auditRecords().filter {
            $0.action == action && $0.subject == subject
        }
    }

    private func check(_ result: CommandResult) throws {
        guard result.status == 0 else { throw FixtureFailure(message: "fleetctl failed: \(result)") }
    }
}
