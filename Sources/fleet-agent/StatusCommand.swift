import ArgumentParsing
import TelemetryAgent

/// `fleet-agent status`: what the buffer holds and what it has lost.
enum StatusCommand {
    static let command = Command(
        name: "status",
        summary: "print the backlog, drops, rejects and certificate expiry",
        help: """
            Usage: fleet-agent status --config FILE [--json]

            Reads the agent's buffer (the agent may be running) and prints the backlog, the oldest record's
            age, what was delivered, rejected by the broker, evicted, expired and refused, and the device
            certificate's notAfter. Connection state is in the status topic and the metrics file.
            """,
        run: run)

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        guard let path = try arguments.option("--config") else { throw UsageError("missing --config FILE") }
        let json = arguments.flag("--json")
        try arguments.finish()
        let configuration = try AgentConfiguration.load(path: path)
        let status = try AgentStatus.read(configuration: configuration)
        if json {
            print(String(decoding: status.json, as: UTF8.self))
            return 0
        }
        print(
            """
            device:              \(status.device)
            backlog:             \(status.backlog) records, \(status.backlogBytes) bytes
            oldest record age:   \(status.oldestAgeSeconds.map { "\($0) s" } ?? "-")
            accepted:            \(status.accepted)
            delivered:           \(status.delivered)
            rejected by broker:  \(status.rejected)
            dropped:             \(status.dropped) (evicted bulk \(status.evictedBulk), \
            normal \(status.evictedNormal), critical \(status.evictedCritical); expired \(status.expired); \
            refused \(status.refused))
            buffer set aside:    \(status.bufferSetAside)\(status.bufferSetAsidePath.map { " (last: \($0))" } ?? "")
            boot epoch:          \(status.bootEpoch)
            certificate expires: \(status.certificateNotAfter ?? "unknown")
            renewal:             \(status.renewal ?? "-")
            """)
        return 0
    }
}
