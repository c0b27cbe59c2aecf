import Foundation
import TestSupport
import Testing

/// A CA made by the real `fleetctl ca init`, the example policies, and a broker folder written by
/// `fleetctl broker init` and run by a stock Mosquitto, exactly as an operator would set them up.
final class FleetBrokerFixture: @unchecked Sendable {  // used from one test at a time
    let folder: TemporaryDirectory
    let port = freeLoopbackPort()
    private(set) var broker: MosquittoBroker?

    var home: String { folder.file("ca") }
    var brokerFolder: String { folder.file("broker") }

    /// `caInit` adds options to `ca init` (such as a short `--crl-lifetime`).
    init(caInit: [String] = []) throws {
        folder = try TemporaryDirectory("fleet-broker-fixture")
        try check(fleetctl(["ca", "init", "--name", "Broker Test Fleet"] + caInit))
        let policies = packageRoot() + "/policies"
        try FileManager.default.createDirectory(atPath: home + "/policies", withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: policies)
        where name.hasSuffix(".yaml") || name.hasSuffix(".json") {
            try FileManager.default.copyItem(atPath: "\(policies)/\(name)", toPath: "\(home)/policies/\(name)")
        }
    }

    /// Runs the built `fleetctl` with `--home` pointing at this CA.
    @discardableResult
    func fleetctl(_ arguments: [String]) throws -> CommandResult {
        try runCommand(builtProduct("fleetctl"), arguments + ["--home", home])
    }

    /// Provisions a device with a key made here; returns its bundle folder.
    func provision(_ id: String, groups: [String] = ["sensors"]) throws -> String {
        let bundle = folder.file("devices/\(id)")
        try check(fleetctl(["provision", id, "--generate-key", "--out", bundle] + groups.flatMap { ["--group", $0] }))
        return bundle
    }

    /// Adds a service identity; returns its credential folder.
    func service(_ name: String) throws -> String {
        let bundle = folder.file("services/\(name)")
        try check(fleetctl(["service", "add", name, "--out", bundle]))
        return bundle
    }

    /// `broker init` for this fixture's port, then a Mosquitto started from the configuration it wrote.
    func startBroker() throws {
        try check(fleetctl(["broker", "init", "--dir", brokerFolder, "--port", String(port)]))
        broker = try MosquittoBroker(configFile: brokerFolder + "/mosquitto.conf", port: port)
        _ = waitUntil(timeout: 5) { FileManager.default.fileExists(atPath: brokerFolder + "/data/mosquitto.pid") }
    }

    /// `broker sync` on this fixture's broker folder.
    func sync(_ extra: [String] = []) throws -> CommandResult {
        try fleetctl(["broker", "sync", "--dir", brokerFolder] + extra)
    }

    /// An MQTT v5 session with the credential in `bundle` (cert.pem, key.pem, root.pem).
    func session(_ bundle: String, as id: String) throws -> MQTTSession {
        try MQTTSession(
            port: port, clientID: id, caFile: bundle + "/root.pem", certificateFile: bundle + "/cert.pem",
            keyFile: bundle + "/key.pem")
    }

    /// The broker's log so far.
    var brokerLog: String { (try? String(contentsOfFile: brokerFolder + "/data/mosquitto.log", encoding: .utf8)) ?? "" }

    private func check(_ result: CommandResult) throws {
        guard result.status == 0 else { throw FixtureFailure(message: "fleetctl failed: \(result)") }
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
