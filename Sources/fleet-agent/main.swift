import ArgumentParsing

#if canImport(Glibc)
    import Glibc
#endif

/// `fleet-agent`: the device's telemetry agent.
let fleetAgent = Command(
    name: "fleet-agent",
    summary: "deliver a device's telemetry over MQTT without losing it",
    help: """
        fleet-agent: delivers a device's telemetry to the fleet's broker over MQTT v5 with mTLS,
        through a durable on-disk buffer.

        Usage: fleet-agent COMMAND [OPTIONS]
        """,
    subcommands: AgentCommands.all
)

exit(fleetAgent.dispatch(Array(CommandLine.arguments.dropFirst())))
