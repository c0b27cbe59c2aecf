import ArgumentParsing

/// The list of `fleet-agent`'s commands; each adds its entry here.
enum AgentCommands {
    static var all: [Command] {
        [RunCommand.command, SendCommand.command, StatusCommand.command]
    }
}
