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

        Exit status: 0 success; 1 the operation failed or refused its input (CA state, a file that cannot
        be read or written, a refused CSR or CSV row, a denied 'acl check'); 2 the command line is wrong
        (unknown command or option, missing argument, malformed id, group, attribute, duration, host or URL).
        """,
    subcommands: FleetctlCommands.all
)

exit(fleetctl.dispatch(Array(CommandLine.arguments.dropFirst())))
