import FleetIdentity
import Testing

@Suite struct IdentityRuleTests {
    @Test(arguments: ["sensor-001", "a", "A.b_c-9", "0gateway", String(repeating: "x", count: 64)])
    func namesOfTheFleetCharsetAreAccepted(name: String) {
        #expect(IdentityRule.isValid(name))
        #expect(IdentityRule.problem(with: name, what: "device id") == nil)
    }

    @Test(arguments: [
        ("a/b", "may not contain '/'"), ("dev+1", "may not contain '+'"), ("dev#", "may not contain '#'"),
        ("$SYS", "may not contain '$'"), ("a b", "may not contain a space"), ("a\0b", "a NUL character"),
        ("..", "must start with a letter or digit"), ("a..b", "may not contain '..'"),
        ("-x", "must start with a letter or digit"),
        ("", "is empty"), ("ü", "may not contain 'ü'"), (String(repeating: "x", count: 65), "65 characters long"),
    ])
    func namesOutsideItAreRefusedWithTheReason(name: String, reason: String) throws {
        #expect(!IdentityRule.isValid(name))
        let problem = try #require(IdentityRule.problem(with: name, what: "device id"))
        #expect(problem.contains(reason), "\(problem)")
    }

    @Test func controlCharactersNeverReachTheMessageRaw() throws {
        let problem = try #require(IdentityRule.problem(with: "a\u{1b}[31m", what: "group"))
        #expect(!problem.unicodeScalars.contains("\u{1b}"))
        #expect(problem.contains("\\u{1b}"))
    }
}
