import AccessPolicy
import Testing

@Suite struct LintTests {
    private func lint(_ text: String, principals: [Principal] = []) throws -> [LintFinding] {
        PolicyLinter.lint(try PolicyFixtures.policies(text), principals: principals)
    }

    @Test func theShippedExamplesAreClean() throws {
        let (policies, principals) = try PolicyFixtures.examples()
        let findings = PolicyLinter.lint(policies, principals: principals)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func unknownGroupsAndAttributesAreErrorsWithTheirLine() throws {
        let findings = try lint("""
            groups: { sensors: x }
            policies:
              - name: a
                groups: [sensorz]
                allow:
                  publish: ['sites/{attr.sitee}/x']
            """)
        let errors = findings.filter { $0.severity == .error }
        #expect(errors.count == 2)
        #expect(errors.contains { $0.message.contains("'sensorz'") && $0.location?.line == 6 })
        #expect(errors.contains { $0.message.contains("'sitee'") })
    }

    @Test func aDeviceGrantOnAnotherDevicesSubtreeOrTheWholeTreeIsAnError() throws {
        let findings = try lint("""
            policies:
              - name: wide
                devices: all
                allow:
                  publish: ["fleet/+/telemetry/#", "#", "fleet/#", "fleet/other/x", "+/#"]
                  subscribe: ["fleet/{device}/command", "sites/+/x"]
            """)
        let errors = findings.filter { $0.severity == .error }
        #expect(errors.count == 5, "\(findings)")
        #expect(errors.filter { $0.message.contains("whole tree") }.count == 2)
    }

    @Test func aServiceMayReadEveryDevicesTelemetry() throws {
        let findings = try lint("policies: [{name: c, services: [c], allow: {subscribe: ['fleet/+/telemetry/#']}}]")
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test func suspiciousRulesAreWarnings() throws {
        let findings = try lint("""
            groups: { quiet: x }
            policies:
              - name: a
                devices: all
                allow:
                  publish: ["fleet/{device}//x", "fleet/{device}/y", "fleet/{device}/y"]
              - name: b
                devices: all
                deny:
                  publish: ["fleet/{device}/y", "+/never"]
              - name: c
                groups: [quiet]
                allow: { publish: ['fleet/{device}/z'] }
            """, principals: [PolicyFixtures.device("d1")])
        #expect(findings.allSatisfy { $0.severity == .warning }, "\(findings)")
        let text = findings.map(\.message).joined(separator: "\n")
        #expect(text.contains("empty level"))
        #expect(text.contains("repeats the rule at test.yaml:6"))
        #expect(text.contains("never takes effect"))
        #expect(text.contains("'$'"))
        #expect(text.contains("no active device is in it"))
    }

    @Test func publishingUnderSysOrSubscribingToShareCanNeverMatch() throws {
        let findings = try lint("policies: [{name: m, services: [m], allow: {publish: ['$SYS/x']}}]")
        #expect(findings.contains { $0.severity == .error && $0.message.contains("never match") })
        let shared = try lint("policies: [{name: m, services: [m], allow: {subscribe: ['$share/g/fleet/+/status']}}]")
        #expect(shared.contains { $0.severity == .error && $0.message.contains("$share") })
    }
}
