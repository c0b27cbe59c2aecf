import ArgumentParsing

/// The list of `fleetctl`'s top-level commands; each group adds its entry here.
enum FleetctlCommands {
    static var all: [Command] {
        [ACLCommand.command]
    }
}
