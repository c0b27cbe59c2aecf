import Foundation
import MQTT
import TelemetryAgent
import TelemetryIngest
import TestSupport
import Testing

/// A producer on the agent's Unix socket: writes lines, reads one answer per line.
final class SocketProducer {
    let descriptor: Int32

    init?(path: String) {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let status = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if status != 0 {
            close(descriptor)
            return nil
        }
    }

    deinit { close(descriptor) }

    /// Sends `lines` and returns the answers, or nil when the agent went away before answering all.
    func send(_ lines: [String]) -> [String]? {
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return nil }
            offset += written
        }
        var answers: [String] = []
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while answers.count < lines.count {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            pending += chunk[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                answers.append(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        return answers
    }
}

/// The sequence numbers of accepted answers (`{"ok":true,"seq":N}`).
func acceptedSequences(_ answers: [String]) -> [Int64] {
    answers.compactMap { answer in
        guard answer.hasPrefix("{\"ok\":true,\"seq\":") else { return nil }
        return Int64(answer.dropFirst("{\"ok\":true,\"seq\":".count).dropLast())
    }
}

@Suite(.serialized) struct DeliveryUnderFailureTests {
    /// The broker keeps sessions in its persistence file (saved every second) so that the ingest's
    /// subscription survives a SIGKILL, and queues without limit (max_queued_messages 0) what arrives for it
    /// while it reconnects. Mosquitto acknowledges a QoS 1 publish before anything reaches its disk, so
    /// whatever it acknowledged but still held in memory for the consumer dies with it: the agent cannot see
    /// that loss, and only the consumer's gap report can. The test therefore produces at a rate the consumer
    /// keeps up with (the broker then holds nothing back at the moment of the kill) and lets the report
    /// prove it; a loss would show as a missing range, never be hidden.
    @Test func tenThousandQoS1RecordsSurviveTwoBrokerKillsWithNothingMissing() throws {
        let broker = try DeliveryBroker(persistent: true)
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        defer { ingest.stop() }
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        #expect(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: broker.persistenceFile) })

        let bundle = try DeviceBundle(device: "dev-k", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        let total = 10_000
        let accepted = LockedCounter()
        let producer = Thread {
            for batch in 0..<(total / 100) {
                let outcomes = agent.submit(records(100, start: batch * 100))
                accepted.add(outcomes.filter { $0.sequence != nil }.count)
                // About 1,000 records a second: a rate the consumer keeps up with, see above.
                usleep(100_000)
            }
        }
        producer.start()

        for threshold in [2_500, 6_000] {
            #expect(waitUntil(timeout: 30) { ingest.counts.stored >= threshold })
            broker.broker.kill()
            try broker.broker.start()
        }
        #expect(waitUntil(timeout: 60) { accepted.value == total })
        #expect(waitUntil(timeout: 30) { ingest.counts.stored >= total && agent.status().backlog == 0 })

        let report = try #require(try IngestStore(path: scratch.file("ingest.db")).report().first)
        #expect(report.received == total)
        #expect(report.missing == [])
        #expect(report.firstSequence == 1)
        #expect(report.lastSequence == Int64(total))
        #expect(agent.status().dropped == 0)
        #expect(agent.status().rejected == 0)
        // Duplicates are expected (unacknowledged records are sent again after each kill) and counted.
        #expect(report.duplicates == ingest.counts.duplicates)
        print("broker kills: received \(report.received), duplicates dropped \(report.duplicates)")
    }

    @Test func agentKilledMidStreamLosesNothingItAcknowledged() throws {
        let broker = try DeliveryBroker()
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        defer { ingest.stop() }
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        let bundle = try DeviceBundle(device: "dev-m", broker: broker)
        let socketPath = bundle.directory.file("agent.sock")

        var acknowledged: [Int64] = []
        var agent = try AgentProcess(config: bundle.configPath)
        #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: socketPath) })
        var producer = try #require(SocketProducer(path: socketPath))
        var next = 0
        // Stream until well past the point of the kill; the kill lands while batches are in flight.
        let killer = Thread { [pid = agent.pid] in
            _ = waitUntil(timeout: 30) { ingest.counts.stored >= 1_000 }
            kill(pid, SIGKILL)
        }
        killer.start()
        while let answers = producer.send((next..<(next + 50)).map { "{\"stream\":\"host\",\"n\":\($0)}" }) {
            acknowledged += acceptedSequences(answers)
            next += 50
        }
        agent.wait()
        #expect(acknowledged.count >= 1_000)

        agent = try AgentProcess(config: bundle.configPath)
        #expect(
            waitUntil(timeout: 20) {
                guard let fresh = SocketProducer(path: socketPath) else { return false }
                producer = fresh
                return true
            })
        let after = try #require(producer.send((0..<200).map { "{\"stream\":\"host\",\"after\":\($0)}" }))
        acknowledged += acceptedSequences(after)

        let store = try IngestStore(path: scratch.file("ingest.db"))
        #expect(
            waitUntil(timeout: 60) {
                (try? store.report().first?.received ?? 0) ?? 0 >= acknowledged.count
            })
        let missing = acknowledged.filter { (try? store.contains(device: "dev-m", sequence: $0)) != true }
        #expect(missing == [])
        #expect(try store.report().first?.missing == [])

        // SIGTERM: inputs stop, the buffer is closed cleanly, exit status 0.
        #expect(agent.terminate() == 0)
        let status = try runCommand(builtProduct("fleet-agent"), ["status", "--config", bundle.configPath, "--json"])
        #expect(status.status == 0)
        #expect(status.standardOutput.contains("\"backlog\":0"))
    }

    @Test func replacingCredentialsReconnectsWithTheNewPairAndKeepsTheBuffer() throws {
        let broker = try DeliveryBroker()
        let scratch = try TemporaryDirectory()
        let ingest = try broker.startIngest(database: scratch.file("ingest.db"))
        defer { ingest.stop() }
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        let bundle = try DeviceBundle(device: "dev-r", broker: broker)
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        let first = agent.submit(records(200))
        // A renewed certificate for the same device, with a new key.
        let renewed = try broker.pki.device("dev-r")
        agent.replaceCredentials(certificate: renewed.certificate, key: renewed.key, chain: renewed.chain)
        agent.reportRenewal("renewed: new certificate in use")
        #expect(waitUntil(timeout: 10) { agent.status().renewal == "renewed: new certificate in use" })
        let second = agent.submit(records(200, start: 200))
        #expect(waitUntil(timeout: 30) { ingest.counts.stored >= 400 && agent.status().backlog == 0 })
        let report = try #require(try IngestStore(path: scratch.file("ingest.db")).report().first)
        #expect(report.missing == [])
        #expect(report.received == first.count + second.count)
        #expect(waitUntil(timeout: 10) { agent.connectedCertificate == renewed.certificate })
        #expect(broker.broker.log.components(separatedBy: "as dev-r").count - 1 >= 2)
    }

    @Test func lastWillSaysOfflineWhenTheAgentIsKilled() throws {
        let broker = try DeliveryBroker()
        let bundle = try DeviceBundle(device: "dev-w", broker: broker)
        let agent = try AgentProcess(config: bundle.configPath)
        #expect(waitUntil(timeout: 20) { broker.broker.log.contains("dev-w 1 fleet/dev-w/command") })
        let log = MessageLog()
        let watcher = try broker.watcher(log)
        defer { watcher.disconnect() }
        try watcher.subscribe("fleet/dev-w/status", qos: 1)
        #expect(waitUntil(timeout: 10) { log.messages.contains { $0.topic == "fleet/dev-w/status" } })
        kill(agent.pid, SIGKILL)
        agent.wait()
        let will = waitUntil(timeout: 20) {
            log.messages.contains { String(decoding: $0.payload, as: UTF8.self).contains("\"online\":false") }
        }
        #expect(will)
    }

    /// A file size limit (`ulimit -f`, SIGXFSZ ignored) stands in for a full disk: writes past it fail.
    @Test func fullDiskIsReportedAndSurvived() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "dev-z", broker: broker)
        let padding = String(repeating: "x", count: 400)
        let input = (0..<20_000).map { "{\"n\":\($0),\"pad\":\"\(padding)\"}" }.joined(separator: "\n") + "\n"
        let script = "trap '' XFSZ; ulimit -f 1000; exec \"$0\" send --config \"$1\" --stream host --batch 500 --json"
        let sent = try runCommand("/bin/bash", ["-c", script, builtProduct("fleet-agent"), bundle.configPath],
                                  input: input)
        #expect(sent.status == 1, "\(sent)")
        #expect(sent.standardError.contains("refused"))
        let summary = try JSONSerialization.jsonObject(with: Data(sent.standardOutput.utf8)) as? [String: Any]
        let accepted = try #require(summary?["accepted"] as? Int)
        #expect(accepted > 0 && accepted < 20_000)

        // What was acknowledged is intact, and the agent starts on the buffer.
        let agent = try TelemetryAgent(configuration: try bundle.configuration())
        agent.start()
        defer { agent.stop() }
        #expect(agent.bufferSetAsidePath == nil)
        #expect(agent.status().backlog == Int64(accepted))
        #expect(agent.submit(records(1)).first?.sequence == Int64(accepted + 1))
    }

    @Test func sendAndStatusCommandsWorkWithoutARunningAgent() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "dev-s", broker: broker, buffer: ", \"maxRows\": 5")
        let input = (0..<8).map { "{\"n\":\($0)}" }.joined(separator: "\n") + "\n"
        let sent = try runCommand(
            builtProduct("fleet-agent"),
            ["send", "--config", bundle.configPath, "--stream", "host", "--json"], input: input)
        #expect(sent.status == 0, "\(sent)")
        #expect(sent.standardOutput.contains("\"accepted\":8"))
        let status = try runCommand(builtProduct("fleet-agent"), ["status", "--config", bundle.configPath, "--json"])
        #expect(status.status == 0, "\(status)")
        let object = try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [String: Any]
        #expect(object?["backlog"] as? Int == 5)
        #expect(object?["evictedNormal"] as? Int == 3)
        #expect((object?["certificateNotAfter"] as? String)?.isEmpty == false)
        let unknown = try runCommand(
            builtProduct("fleet-agent"),
            ["send", "--config", bundle.configPath, "--stream", "nope"], input: "{}\n")
        #expect(unknown.status == 2)
        #expect(unknown.standardError.contains("'nope'"))
    }
}

/// A running `fleet-agent run` process.
struct AgentProcess {
    let process: Process

    init(config: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: builtProduct("fleet-agent"))
        process.arguments = ["run", "--config", config]
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func wait() { process.waitUntilExit() }

    /// Sends SIGTERM and returns the exit status.
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A counter shared between a producer thread and the test.
final class LockedCounter: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var count = 0

    func add(_ amount: Int) {
        lock.lock()
        count += amount
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
