import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Mosquitto broker on a free loopback port, for tests. Stopped (SIGKILL) on `deinit`.
///
/// The caller gives the configuration without the `listener` line; this type adds
/// `listener PORT 127.0.0.1` first (so per-listener settings follow it), plus `persistence false`
/// unless the configuration says otherwise, and logs to a file that `log` reads.
public final class MosquittoBroker: @unchecked Sendable {  // process handle used from the test's thread only
    public let port: UInt16
    public let configPath: String
    public let logPath: String
    private let directory: TemporaryDirectory
    private var process: SpawnedProcess?

    /// Starts a broker with `configuration` (mosquitto.conf lines after the listener).
    public init(configuration: String, port: UInt16? = nil) throws {
        directory = try TemporaryDirectory("fleet-broker")
        self.port = port ?? freeLoopbackPort()
        configPath = directory.file("mosquitto.conf")
        logPath = directory.file("mosquitto.log")
        var lines = ["listener \(self.port) 127.0.0.1"]
        if !configuration.contains("persistence ") { lines.append("persistence false") }
        lines += ["log_dest file \(logPath)", "log_type all", "user root", configuration]
        try lines.joined(separator: "\n").appending("\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try start()
    }

    /// Starts a broker from a complete configuration file written elsewhere (such as by `broker init`).
    /// The file must name `port` in its listener line.
    public init(configFile: String, port: UInt16) throws {
        directory = try TemporaryDirectory("fleet-broker")
        self.port = port
        configPath = configFile
        logPath = directory.file("mosquitto.stdout")
        try start()
    }

    deinit { kill() }

    /// The process id, while running.
    public var pid: Int32? { process?.isRunning == true ? process?.pid : nil }

    /// Starts (or restarts) the broker and waits until its port accepts connections.
    public func start() throws {
        guard process?.isRunning != true else { return }
        let child = try SpawnedProcess("mosquitto", ["-c", configPath], outputPath: directory.file("stdout"))
        process = child
        guard waitUntil(timeout: 10, { isListening(port: port) || !child.isRunning }), child.isRunning else {
            let printed = (try? String(contentsOfFile: directory.file("stdout"), encoding: .utf8)) ?? ""
            throw BrokerStartError(message: "mosquitto did not start on port \(port): \(printed) \(log)")
        }
    }

    /// Sends SIGKILL and waits for the process to end.
    public func kill() {
        guard let process, process.signal(SIGKILL) else { return }
        process.waitForExit(timeout: 10)
    }

    /// Sends SIGTERM and waits for the process to end.
    public func stop() {
        guard let process, process.signal(SIGTERM) else { return }
        process.waitForExit(timeout: 10)
    }

    /// Sends SIGHUP: the broker reloads its ACL and, with TLS settings complete, its CRL.
    public func reload() {
        process?.signal(SIGHUP)
    }

    /// Everything the broker logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// The broker did not come up; the message holds what it printed.
public struct BrokerStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
