import AccessPolicy
import Foundation
import Testing

@Suite struct PolicyParsingTests {
    private func errors(_ text: String, file: String = "p.yaml") -> [PolicyError] {
        do {
            _ = try PolicyFixtures.policies(text, file: file)
            return []
        } catch let error as PolicyErrors {
            return error.errors
        } catch {
            return [PolicyError("unexpected \(error)")]
        }
    }

    @Test func theShippedExamplesLoadWithEveryRuleLocated() throws {
        let (policies, principals) = try PolicyFixtures.examples()
        #expect(policies.files.count == 3)
        #expect(principals.count == 10)
        #expect(!policies.rules.isEmpty)
        for rule in policies.rules { #expect(rule.location.line > 0) }
        let consumer = policies.rules.first { $0.policy == "telemetry-consumer" }
        #expect(consumer?.location.file.hasSuffix("services.json") == true)
    }

    @Test func anInvalidFilterIsReportedWithFileAndLine() {
        let found = errors("""
            policies:
              - name: bad
                devices: all
                allow:
                  publish:
                    - fleet/{device}/ok
                    - a/#/b
            """)
        #expect(found.count == 1)
        #expect(found.first?.line == 7)
        #expect(found.first?.description.hasPrefix("p.yaml:7: ") == true)
        #expect(found.first?.message.contains("a/#/b") == true)
    }

    @Test func everyProblemIsReportedNotJustTheFirst() {
        let found = errors("""
            policies:
              - name: one
                devices: all
                allow: { publish: ["+x"] }
              - name: two
                gropus: [sensors]
                allow: { publish: [a] }
              - name: three
                services: [svc]
                allow: { publish: ["fleet/{device}/x"] }
            """)
        #expect(found.map(\.line) == [4, 6, 5, 10])
        #expect(found[1].message.contains("'gropus'"))
        #expect(found[2].message.contains("names no principal"))
        #expect(found[3].message.contains("placeholder"))
    }

    @Test func yamlSyntaxErrorsCarryTheLine() {
        let found = errors("policies:\n  - name: x\n    allow: [unclosed\n", file: "broken.yaml")
        #expect(found.count == 1)
        #expect(found.first?.file == "broken.yaml")
        #expect((found.first?.line ?? 0) >= 3)
    }

    @Test func aliasesAreRefused() {
        let found = errors("""
            policies:
              - name: a
                devices: all
                allow: &grant { publish: [x] }
              - name: b
                devices: all
                allow: *grant
            """)
        #expect(found.contains { $0.message.contains("alias") })
    }

    @Test func jsonIsValidInput() throws {
        let json = #"{"policies": [{"name": "j", "devices": "all",\#n"#
            + #""allow": {"subscribe": ["fleet/{device}/command"]}}]}"#
        let set = try PolicyFixtures.policies(json, file: "j.json")
        #expect(set.rules.count == 1)
        #expect(set.rules[0].location == SourceLocation(file: "j.json", line: 2))
    }

    @Test func placeholdersMustBeWholeLevelsAndKnown() {
        #expect(errors("policies: [{name: a, devices: all, allow: {publish: ['fleet/dev-{device}']}}]").count == 1)
        #expect(errors("policies: [{name: a, devices: all, allow: {publish: ['fleet/{owner}/x']}}]").count == 1)
        #expect(errors("policies: [{name: a, devices: all, allow: {publish: ['a/{attr.b/c}/d']}}]").count == 1)
    }

    @Test func controlCharactersInTopicsAreRefused() {
        let found = errors("policies: [{name: a, devices: all, allow: {publish: [\"a\\nuser evil\"]}}]")
        #expect(found.count == 1)
        #expect(found.first?.message.contains("control character") == true)
    }

    @Test func badPrincipalIdsAreRefusedWithTheValue() {
        for id in ["a/b", "dev+1", "dev#", "$SYS", "a b", "..x", "-lead", String(repeating: "x", count: 65)] {
            do {
                _ = try Principal(id: id, kind: .device)
                Issue.record("'\(id)' was accepted")
            } catch {
                #expect(error.message.contains(String(id.prefix(10))))
            }
        }
    }

    @Test func principalFilesAreValidated() {
        let data = Data(#"[{"id": "ok"}, {"id": "a/b", "kind": "device"}]"#.utf8)
        #expect(throws: PolicyError.self) { try PrincipalList.decode(data, file: "p.json") }
        let twice = Data(#"[{"id": "ok"}, {"id": "ok", "kind": "service"}]"#.utf8)
        #expect(throws: PolicyError.self) { try PrincipalList.decode(twice, file: "p.json") }
    }
}
