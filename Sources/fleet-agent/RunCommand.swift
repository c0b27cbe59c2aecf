import ArgumentParsing
import TelemetryAgent

#if canImport(Glibc)
    import Glibc
#endif

/// `fleet-agent run`: the long-running agent.
enum RunCommand {
    static let command = Command(
        name: "run",
        summary: "run the agent: buffer records and deliver them to the broker",
        help: """
            Usage: fleet-agent run --config FILE

            Runs the agent with the bundle's configuration (agent.json). Records come from the local socket
            (newline-delimited JSON), from 'fleet-agent send', and from the /proc collector; they are
            delivered over MQTT v5 with mTLS. The certificate is renewed online before it expires
            (docs/renewal.md; 'renewal' in agent.json), and at once on a rotation order on fleet/ID/command.
            SIGTERM or SIGINT stops the inputs, gives in-flight records the configured drain time, and closes
            the buffer cleanly.
            """,
        run: run)

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        guard let path = try arguments.option("--config") else { throw UsageError("missing --config FILE") }
        try arguments.finish()
        let configuration = try AgentConfiguration.load(path: path)

        // Block the stop signals in every thread; the main thread waits for them with sigwait.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        // The agent runs on the last good key and certificate pair; the renewal client keeps it current.
        let (agent, renewal) = try RenewalClient.makeAgent(
            configuration: configuration, log: { writeStandardError("fleet-agent: \($0)\n") })
        agent.start()
        renewal.start()
        let socket = try configuration.socket.map { path throws(AgentError) in try SocketInput(path: path, agent: agent)
        }
        var collector: HostCollector?
        if configuration.collector.enabled {
            collector = HostCollector(
                agent: agent, stream: configuration.collector.stream,
                interval: configuration.collector.interval)
            collector?.start()
        }

        var received: Int32 = 0
        sigwait(&signals, &received)
        writeStandardError("fleet-agent: stopping on signal \(received)\n")
        socket?.stop()
        collector?.stop()
        renewal.stop()
        agent.stop()
        return 0
    }
}
