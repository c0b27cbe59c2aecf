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

            Reads standard input, one record per line, and hands them over in batches of N lines (default
            1000). When the agent runs, the lines go through its socket (each must then be a JSON object;
            the stream is added to it) and the agent acknowledges each once it is durable. When no agent
            listens, they are committed to the buffer directly and delivered when the agent starts. Prints
            how many were accepted and refused; exits 1 if any was refused.
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
        let agentSocket = configuration.socket.flatMap { AgentSocketClient(path: $0) }
        let buffer = agentSocket == nil ? try RecordBuffer(configuration: configuration) : nil
        let streamPrefix = Array("{\"stream\":\"\(stream)\",".utf8)

        var accepted = 0
        var refused = 0
        var first: Int64?
        var last: Int64?
        var reasons: [String: Int] = [:]
        var batch: [IncomingRecord] = []
        func flush() {
            guard !batch.isEmpty else { return }
            for outcome in deliver(batch) {
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
        func deliver(_ batch: [IncomingRecord]) -> [AppendOutcome] {
            guard let agentSocket else { return buffer!.append(batch, now: Int64(time(nil)) * 1000) }
            var lines: [[UInt8]] = []
            for record in batch {
                guard record.payload.first == UInt8(ascii: "{") else {
                    lines.append(Array("not a JSON object".utf8))
                    continue
                }
                let rest = record.payload.dropFirst().drop { $0 == UInt8(ascii: " ") }
                // `{}` becomes `{"stream":"NAME"}`; `{"a":1}` becomes `{"stream":"NAME","a":1}`.
                lines.append(rest.first == UInt8(ascii: "}") ? streamPrefix.dropLast() + rest : streamPrefix + rest)
            }
            guard let answers = agentSocket.exchange(lines) else {
                return batch.map { _ in .refused("the agent closed its socket before answering") }
            }
            return answers.map { answer in
                let prefix = "{\"ok\":true,\"seq\":"
                if answer.hasPrefix(prefix), let sequence = Int64(answer.dropFirst(prefix.count).dropLast()) {
                    return .accepted(sequence: sequence, epoch: 0)
                }
                return .refused(answer)
            }
        }
        while let line = readLine(strippingNewline: true) {
            guard !line.isEmpty else { continue }
            batch.append(IncomingRecord(stream: stream, payload: Array(line.utf8)))
            if batch.count >= batchSize { flush() }
        }
        flush()
        if json {
            print(
                "{\"accepted\":\(accepted),\"refused\":\(refused),\"firstSeq\":\(first ?? 0),\"lastSeq\":\(last ?? 0)}")
        } else {
            print(
                "accepted \(accepted) records" + (first.map { " (seq \($0)-\(last ?? $0))" } ?? "")
                    + ", refused \(refused)")
        }
        for (reason, count) in reasons { writeStandardError("fleet-agent: \(count) refused: \(reason)\n") }
        return refused == 0 ? 0 : 1
    }
}
