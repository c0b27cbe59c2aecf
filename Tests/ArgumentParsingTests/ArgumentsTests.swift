import ArgumentParsing
import Testing

@Suite struct ArgumentsTests {
    @Test func optionsFlagsAndPositionalsAreConsumedByName() throws {
        var arguments = Arguments(["dev1", "--group", "a", "--json", "--group=b", "--out", "x"])
        let json = arguments.flag("--json")
        let groups = try arguments.options("--group")
        let out = try arguments.option("--out")
        let device = try arguments.positional("device id")
        #expect(json && groups == ["a", "b"] && out == "x" && device == "dev1")
        try arguments.finish()
    }

    @Test func leftoverOptionIsRefusedByName() throws {
        var arguments = Arguments(["--colour", "red"])
        let positional = arguments.nextPositional()
        #expect(positional == "red")
        #expect(throws: UsageError.self) { try arguments.finish() }
    }

    @Test(arguments: [["--home", ""], ["--home="]])
    func emptyOptionValueIsRefusedNamingTheOption(words: [String]) {
        var arguments = Arguments(words)
        do {
            _ = try arguments.option("--home")
            Issue.record("an empty --home was accepted")
        } catch {
            #expect(error.message.contains("'--home'") && error.message.contains("empty"))
        }
    }

    @Test func unknownSubcommandIsAUsageErrorEvenWithHelp() {
        let tool = Command(
            name: "tool", summary: "a tool",
            subcommands: [Command(name: "known", summary: "known", help: "") { _ in 0 }])
        #expect(tool.dispatch(["bogus", "--help"]) == 2)
        #expect(tool.dispatch(["--help"]) == 0)
        #expect(tool.dispatch(["known", "--help"]) == 0)
    }

    @Test func optionWithoutValueIsRefused() {
        var arguments = Arguments(["--out"])
        #expect(throws: UsageError.self) { _ = try arguments.option("--out") }
    }

    @Test(arguments: [("90s", 90), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("2y", 63_072_000),
                      ("1d12h", 129_600)])
    func durationsParse(text: String, seconds: Int64) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["", "10", "d", "5x", "-3d", "0s", "99999999999999999999y"])
    func badDurationsAreRefused(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }
}
