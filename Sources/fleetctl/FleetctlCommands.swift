import ArgumentParsing

/// The list of `fleetctl`'s top-level commands; each group adds its entry here.
enum FleetctlCommands {
    static var all: [Command] {
        [
            // The certificate authority (CACommands.swift and neighbours).
            caCommand, provisionCommand, rotateCommand, revokeCommand, listCommand, showCommand, crlCommand,
            auditCommand, serviceCommand,
            // The online CA service (ServeCommand.swift).
            serveCommand,
            // Policies and broker ACLs (ACLCommand.swift).
            ACLCommand.command,
            // Broker configuration and sync (BrokerCommand.swift).
            brokerCommand,
            // The reference consumer (IngestCommand.swift).
            IngestCommand.command,
        ]
    }
}
