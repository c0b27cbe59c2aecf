/// One command of a command-line tool: its name, a one-line summary, its help text, and what it does.
///
/// `run` receives the words after the command's name and returns the exit status. Commands with
/// subcommands list them in `subcommands` instead and leave `run` nil.
public struct Command: Sendable {
    public let name: String
    public let summary: String
    public let help: String
    public let subcommands: [Command]
    public let run: (@Sendable (inout Arguments) throws -> Int32)?

    public init(
        name: String, summary: String, help: String, run: @escaping @Sendable (inout Arguments) throws -> Int32
    ) {
        self.name = name
        self.summary = summary
        self.help = help
        self.subcommands = []
        self.run = run
    }

    public init(name: String, summary: String, help: String = "", subcommands: [Command]) {
        self.name = name
        self.summary = summary
        self.help = help
        self.subcommands = subcommands
        self.run = nil
    }

    /// Finds the command the words name, runs it, and turns errors into one line on stderr.
    ///
    /// - Returns: the exit status: the command's own, 2 for usage errors, 1 for other failures.
    public func dispatch(_ words: [String], path: [String] = []) -> Int32 {
        let path = path + [name]
        if let subcommand = words.first.flatMap({ word in subcommands.first { $0.name == word } }) {
            return subcommand.dispatch(Array(words.dropFirst()), path: path)
        }
        var arguments = Arguments(words)
        guard let run else {
            // A first word that is neither a command nor a request for help is an error even when --help
            // follows it, so a misspelt command never looks like success.
            let first = words.first ?? ""
            if words.isEmpty || first == "help" || (first.hasPrefix("-") && arguments.wantsHelp) {
                print(helpText(path: path))
                return words.isEmpty ? 2 : 0
            }
            return report(UsageError("unknown command '\(words[0])'; see '\(path.joined(separator: " ")) --help'"),
                          path: path)
        }
        if arguments.wantsHelp {
            print(helpText(path: path))
            return 0
        }
        do {
            return try run(&arguments)
        } catch {
            return report(error, path: path)
        }
    }

    /// The help text: the command's own text, and the list of its subcommands when it has any.
    public func helpText(path: [String]) -> String {
        var text = help.isEmpty ? "\(path.joined(separator: " ")): \(summary)" : help
        if !subcommands.isEmpty {
            let width = subcommands.map(\.name.count).max() ?? 0
            text += "\n\nCommands:\n"
            for command in subcommands {
                let gap = String(repeating: " ", count: width - command.name.count)
                text += "  \(command.name)\(gap)  \(command.summary)\n"
            }
            text += "\nRun '\(path.joined(separator: " ")) COMMAND --help' for the details of one command."
        }
        return text
    }

    private func report(_ error: any Error, path: [String]) -> Int32 {
        let program = path.first ?? name
        writeStandardError("\(program): \(error)\n")
        return error is UsageError ? 2 : 1
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `text` to standard error without buffering.
public func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}
