import ArgumentParsing

#if canImport(Glibc)
import Glibc
#endif

/// `fleetctl`: the operator's tool. Each command group lives in its own file as a `Command` value.
let fleetctl = Command(
    name: "fleetctl",
    summary: "run a fleet's certificate authority, broker ACLs and telemetry intake",
    help: """
        fleetctl: the operator's tool for a device fleet's certificate authority, broker ACLs and telemetry.

        Usage: fleetctl COMMAND [OPTIONS]

        Every command takes --home DIR, the CA's state folder (default $FLEET_HOME, else ./fleet).
        Durations are written like 90s, 15m, 12h, 30d, 2y.
        """,
    subcommands: FleetctlCommands.all
)

exit(fleetctl.dispatch(Array(CommandLine.arguments.dropFirst())))
