import ArgumentParsing
import TelemetryAgent

#if canImport(Glibc)
import Glibc
#endif

/// `fleet-agent send`: records from standard input into the buffer.
enum SendCommand {
    static let command = Command(
        name: "send",
        summary: "add records read from standard input (one per line) to the buffer",
        help: """
            Usage: fleet-agent send --config FILE --stream NAME [--batch N] [--json]

            Reads standard input, one record per line (a JSON object is recommended), and commits them to
            the agent's buffer in batches of N lines (default 1000). A line is acknowledged (counted as
            accepted) only once committed; the running agent picks the records up and delivers them. The
            agent need not be running. Prints how many were accepted and refused; exits 1 if any was refused.
            """,
        run: run)

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        guard let path = try arguments.option("--config") else { throw UsageError("missing --config FILE") }
        guard let stream = try arguments.option("--stream") else { throw UsageError("missing --stream NAME") }
        let batchSize = try arguments.option("--batch") { Int($0).flatMap { $0 > 0 ? $0 : nil } } ?? 1000
        let json = arguments.flag("--json")
        try arguments.finish()
        let configuration = try AgentConfiguration.load(path: path)
        guard configuration.stream(stream) != nil else {
            throw UsageError("stream '\(stream)' is not configured in '\(path)'")
        }
        let buffer = try RecordBuffer(configuration: configuration)

        var accepted = 0, refused = 0
        var first: Int64?, last: Int64?
        var reasons: [String: Int] = [:]
        var batch: [IncomingRecord] = []
        func flush() {
            for outcome in buffer.append(batch, now: Int64(time(nil)) * 1000) {
                switch outcome {
                case .accepted(let sequence, _):
                    accepted += 1
                    first = first ?? sequence
                    last = sequence
                case .refused(let reason):
                    refused += 1
                    reasons[reason, default: 0] += 1
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        while let line = readLine(strippingNewline: true) {
            guard !line.isEmpty else { continue }
            batch.append(IncomingRecord(stream: stream, payload: Array(line.utf8)))
            if batch.count >= batchSize { flush() }
        }
        flush()
        if json {
            print("{\"accepted\":\(accepted),\"refused\":\(refused),\"firstSeq\":\(first ?? 0),\"lastSeq\":\(last ?? 0)}")
        } else {
            print("accepted \(accepted) records" + (first.map { " (seq \($0)-\(last ?? $0))" } ?? "")
                  + ", refused \(refused)")
        }
        for (reason, count) in reasons { writeStandardError("fleet-agent: \(count) refused: \(reason)\n") }
        return refused == 0 ? 0 : 1
    }
}
