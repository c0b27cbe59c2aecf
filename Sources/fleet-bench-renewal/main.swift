// Renewal storm benchmark: COUNT devices, each on its own MQTT connection through a real Mosquitto set up
// by `broker init`, ask a running `fleetctl serve` for a new certificate at the same moment. Prints the
// renewals per second and the time to a new certificate (p50, p99), beside the same CA's in-process rate
// for the same work (a rotation from a CSR, one transaction each). scripts/bench-renewal.sh runs it.
import FleetCA
import Foundation
import MQTT
import PKI
import Provisioning

#if canImport(Glibc)
    import Glibc
#endif

func figure(_ name: String, _ value: Double, _ unit: String, _ peer: String = "-", _ peerValue: Double? = nil) {
    let ratio = peerValue.map { $0 > 0 ? String(format: "%.3f", value / $0) : "-" } ?? "-"
    let peerText = peerValue.map { String(format: "%.1f", $0) } ?? "-"
    print("\(name)\t\(String(format: "%.1f", value))\t\(unit)\t\(peer)\t\(peerText)\t\(ratio)")
}

func note(_ text: String) { FileHandle.standardError.write(Data("bench-renewal: \(text)\n".utf8)) }

var count = 1_000
var fleetctl = ""
var policies = "policies"
var worker: (port: Int, devices: String, first: Int, last: Int)?
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let word = arguments.removeFirst()
    switch word {
    case "--count": count = Int(arguments.removeFirst()) ?? count
    case "--fleetctl": fleetctl = arguments.removeFirst()
    case "--policies": policies = arguments.removeFirst()
    case "--worker":
        // Internal: PORT DEVICES-FOLDER FIRST LAST (see StormWorker).
        worker = (Int(arguments[0]) ?? 0, arguments[1], Int(arguments[2]) ?? 0, Int(arguments[3]) ?? 0)
        arguments.removeFirst(4)
    default:
        note("usage: fleet-bench-renewal --fleetctl PATH [--policies DIR] [--count N]")
        exit(2)
    }
}
if let worker {
    exit(StormWorker.run(port: worker.port, devices: worker.devices, range: worker.first..<worker.last))
}
guard !fleetctl.isEmpty else {
    note("usage: fleet-bench-renewal --fleetctl PATH [--policies DIR] [--count N]")
    exit(2)
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-bench-renewal-\(getpid())").path
var children: [Process] = []

/// Stops the broker and serve and removes the files (`exit` skips `defer`, so both paths call it).
func cleanUp(_ children: [Process], keep: Bool = false) {
    for child in children where child.isRunning { child.terminate() }
    for child in children { child.waitUntilExit() }
    if keep { note("files kept in \(folder)") } else { try? FileManager.default.removeItem(atPath: folder) }
}

/// A free loopback port, from the kernel.
func freePort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func start(_ path: String, _ arguments: [String], log: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}

func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

do {
    // A CA whose rate limit lets every device renew once, COUNT devices with keys made here.
    // The broker drops to user mosquitto, which must be able to reach its folder.
    try FileManager.default.createDirectory(
        atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    let home = CAHome(path: folder + "/ca")
    var options = CAInitOptions(name: "Renewal Bench")
    options.configuration.renewal.rateLimit = 100
    _ = try CertificateAuthority.create(home: home, options: options)
    let authority = try CertificateAuthority.open(home: home)
    let ids = (0..<count).map { "storm-\($0)" }
    let issued = try authority.provision(batch: ids.map { DeviceEnrollment(id: $0, groups: ["sensors"]) })
    for (id, result) in zip(ids, issued) {
        try DeviceBundle.write(
            result.get(), deviceID: id, authority: authority, to: "\(folder)/devices/\(id)",
            replacing: false)
    }
    _ = try ServiceIdentity.prepare(authority: authority, folder: nil)

    // The broker as an operator sets it up, then the online CA.
    let port = freePort()
    let layout = BrokerLayout(folder: folder + "/broker")
    try BrokerSetup.initialize(
        layout: layout, authority: authority,
        options: BrokerSetup.Options(port: UInt16(port), policies: policies, persistence: false))
    children.append(try start("/usr/sbin/mosquitto", ["-c", layout.configurationPath], log: folder + "/mosquitto.out"))
    guard waitFor(10, { FileManager.default.fileExists(atPath: layout.pidPath) }) else {
        throw ProvisioningError("mosquitto did not start; see \(layout.logPath)")
    }
    let serveLog = folder + "/serve.log"
    children.append(try start(fleetctl, ["serve", "--home", home.path, "--broker-dir", layout.folder], log: serveLog))
    guard waitFor(30, { ((try? String(contentsOfFile: serveLog, encoding: .utf8)) ?? "").contains("serve connected") })
    else { throw ProvisioningError("fleetctl serve did not connect; see \(serveLog)") }

    // libmosquitto 2.0.11 waits with select(), which cannot watch a descriptor above 1023, and each client
    // holds three: so the devices are spread over worker processes of 250 each. Every worker connects
    // its devices and prepares their requests (new key, CSR, signature) before the clock starts, says
    // "ready", and on "go" publishes them all; it prints each request's send and answer times
    // (CLOCK_MONOTONIC, the same clock in every process on the machine).
    note("connecting \(count) devices in \((count + 249) / 250) worker processes")
    var workers: [(process: Process, input: Pipe, output: Pipe)] = []
    for first in stride(from: 0, to: count, by: 250) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = [
            "--worker", String(port), folder + "/devices", String(first), String(min(count, first + 250)),
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        children.append(process)
        workers.append((process, input, output))
    }
    var lines: [[String]] = []
    for worker in workers {
        let ready = String(decoding: worker.output.fileHandleForReading.readLine(), as: UTF8.self)
        guard ready == "ready" else { throw ProvisioningError("a storm worker failed: \(ready)") }
    }
    note("\(count) renewal requests at once")
    for worker in workers { worker.input.fileHandleForWriting.write(Data("go\n".utf8)) }
    for worker in workers {
        let text = String(decoding: worker.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        lines += text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        worker.process.waitUntilExit()
    }
    let results = lines.filter { $0.count == 3 }
    let refused = results.filter { $0[2] != "issued" }.count
    guard results.count == count, refused == 0 else {
        throw ProvisioningError("\(results.count) of \(count) answered, \(refused) not issued; see \(serveLog)")
    }
    let sent = results.compactMap { Double($0[0]) }
    let answered = results.compactMap { Double($0[1]) }
    let start = sent.min() ?? 0
    let end = answered.max() ?? start
    let latencies = zip(sent, answered).map { ($1 - $0) * 1000 }.sorted()
    let storm = Double(count) / (end - start)

    // The same CA in process: the same work (a CSR checked, a certificate signed, the inventory updated
    // in one transaction each), without MQTT and the request checks.
    note("in-process rotation of \(count) devices")
    let rotateRequests = try ids.map { id in
        try CertificateSigningRequest.create(key: PrivateKey.generate(.p256), commonName: id)
    }
    let inProcessStart = monotonicSeconds()
    for (id, request) in zip(ids, rotateRequests) { _ = try authority.rotate(deviceID: id, request: request) }
    let inProcess = Double(count) / (monotonicSeconds() - inProcessStart)

    figure("renewal_storm_\(count)_devices", storm, "renewals/s", "in-process-rotate-same-ca", inProcess)
    figure("renewal_storm_p50_time_to_certificate", latencies[latencies.count / 2], "ms")
    figure(
        "renewal_storm_p99_time_to_certificate", latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
        "ms", "storm-duration", (end - start) * 1000)
    cleanUp(children)
} catch {
    note("\(error)")
    cleanUp(children, keep: true)
    exit(1)
}
