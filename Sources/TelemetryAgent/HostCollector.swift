import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Takes real host readings from /proc at an interval and submits them as records: CPU busy share since
/// the last reading, memory, load averages, the root file system's use and network byte counters.
public final class HostCollector: @unchecked Sendable {  // `previousCPU` is used by the collector thread only
    private let agent: TelemetryAgent
    private let stream: String
    private let interval: Double
    private let stopped = Mutex(false)
    private var previousCPU: (busy: UInt64, total: UInt64)?

    /// A collector submitting to `agent` on `stream` every `interval` seconds.
    public init(agent: TelemetryAgent, stream: String, interval: Double) {
        self.agent = agent
        self.stream = stream
        self.interval = interval
    }

    /// Starts the collector thread; the first reading is taken at once.
    public func start() {
        startThread { [self] in
            while !stopped.withLock({ $0 }) {
                _ = agent.submit([IncomingRecord(stream: stream, payload: Array(reading().utf8))])
                let deadline = monotonicSecondsNow() + interval
                while !stopped.withLock({ $0 }) && monotonicSecondsNow() < deadline { usleep(50_000) }
            }
        }
    }

    /// Stops after the current reading.
    public func stop() { stopped.withLock { $0 = true } }

    /// One reading as a JSON object.
    func reading() -> String {
        var fields: [String] = ["\"captured\":\(nowMilliseconds())"]
        if let cpu = cpuBusyShare() { fields.append("\"cpu\":\(cpu)") }
        let memory = Self.keyValues("/proc/meminfo")
        if let total = memory["MemTotal"], let available = memory["MemAvailable"] {
            fields.append("\"memTotalKiB\":\(total),\"memAvailableKiB\":\(available)")
        }
        if let load = Self.read("/proc/loadavg")?.split(separator: " "), load.count >= 3 {
            fields.append("\"load1\":\(load[0]),\"load5\":\(load[1]),\"load15\":\(load[2])")
        }
        var disk = statvfs()
        if statvfs("/", &disk) == 0 {
            let size = UInt64(disk.f_blocks) * UInt64(disk.f_frsize)
            let free = UInt64(disk.f_bavail) * UInt64(disk.f_frsize)
            fields.append("\"diskBytes\":\(size),\"diskFreeBytes\":\(free)")
        }
        let (received, sent) = Self.networkBytes()
        fields.append("\"netRxBytes\":\(received),\"netTxBytes\":\(sent)")
        return "{\"stream\":\(jsonString(stream)),\"host\":{" + fields.joined(separator: ",") + "}}"
    }

    private func cpuBusyShare() -> Double? {
        guard let line = Self.read("/proc/stat")?.split(separator: "\n").first, line.hasPrefix("cpu ") else {
            return nil
        }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 4 else { return nil }
        let total = values.reduce(0, +)
        let idle = values[3] + (values.count > 4 ? values[4] : 0)
        let busy = total - idle
        defer { previousCPU = (busy, total) }
        guard let previous = previousCPU, total > previous.total else { return nil }
        let share = Double(busy - previous.busy) / Double(total - previous.total)
        return (share * 1000).rounded() / 1000
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func keyValues(_ path: String) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for line in (read(path) ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let number = parts[1].split(separator: " ").first.flatMap({ UInt64($0) }) else {
                continue
            }
            values[String(parts[0])] = number
        }
        return values
    }

    /// Bytes received and sent on every interface but loopback.
    static func networkBytes() -> (UInt64, UInt64) {
        var received: UInt64 = 0
        var sent: UInt64 = 0
        for line in (read("/proc/net/dev") ?? "").split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingSpaces != "lo" else { continue }
            let numbers = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard numbers.count >= 9 else { continue }
            received += numbers[0]
            sent += numbers[8]
        }
        return (received, sent)
    }
}

extension Substring {
    var trimmingSpaces: String { String(filter { $0 != " " }) }
}

func monotonicSecondsNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
