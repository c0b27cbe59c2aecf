import Foundation
import Testing
import TestSupport

/// `fleetctl acl` as an operator runs it: exit statuses, file:line in what it prints, --json, --out.
@Suite struct ACLCommandTests {
    private func fleetctl(_ arguments: [String], policies: String = PolicyFixtures.examplePolicies) throws
        -> CommandResult
    {
        try runCommand(builtProduct("fleetctl"), ["acl"] + arguments + [
            "--policies", policies, "--principals", PolicyFixtures.examplePrincipalsFile,
        ])
    }

    @Test func checkExitsZeroForAllowAndOneForDenyNamingTheRule() throws {
        let allowed = try fleetctl(["check", "gw-berlin", "publish", "sites/berlin/alarms"])
        #expect(allowed.status == 0, "\(allowed)")
        #expect(allowed.standardOutput.hasPrefix("allow at "))
        #expect(allowed.standardOutput.contains("gateways.yaml:8"))

        let denied = try fleetctl(["check", "sensor-003", "publish", "fleet/sensor-003/telemetry/x", "--json"])
        #expect(denied.status == 1, "\(denied)")
        let object = try JSONSerialization.jsonObject(with: Data(denied.standardOutput.utf8)) as? [String: Any]
        #expect(object?["decision"] as? String == "deny")
        let rule = object?["rule"] as? [String: Any]
        #expect(rule?["policy"] as? String == "quarantined-devices-stay-silent")
        #expect((rule?["file"] as? String)?.hasSuffix("devices.yaml") == true)
        #expect(rule?["line"] as? Int == 27)
    }

    @Test func checkRefusesABadActionOrInvalidTopicWithUsageStatusNotDeny() throws {
        #expect(try fleetctl(["check", "sensor-001", "read", "x"]).status == 2)
        let wildcardPublish = try fleetctl(["check", "sensor-001", "publish", "fleet/+/x"])
        #expect(wildcardPublish.status == 2)
        #expect(wildcardPublish.standardError.contains("'fleet/+/x'"))
        let misplacedHash = try fleetctl(["check", "sensor-001", "subscribe", "fleet/sensor-01/#/x"])
        #expect(misplacedHash.status == 2, "\(misplacedHash)")
        #expect(misplacedHash.standardError.contains("'fleet/sensor-01/#/x'"))
        let empty = try fleetctl(["check", "sensor-001", "publish", ""])
        #expect(empty.status == 2, "\(empty)")
        #expect(empty.standardError.contains("empty"))
    }

    @Test func lintOfTheExamplesPassesAndBrokenPoliciesFailWithFileAndLine() throws {
        let clean = try fleetctl(["lint"])
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.standardOutput.contains("0 errors"))

        let folder = try TemporaryDirectory("acl-lint")
        try """
            policies:
              - name: greedy
                devices: all
                allow:
                  publish: ["fleet/+/telemetry/#"]
                  subscribe: ["a/#/b"]
            """.write(toFile: folder.file("bad.yaml"), atomically: true, encoding: .utf8)
        let broken = try fleetctl(["lint"], policies: folder.path)
        #expect(broken.status == 1, "\(broken)")
        #expect(broken.standardOutput.contains("bad.yaml:6: error:"), "\(broken)")

        try "policies: []\n".write(toFile: folder.file("bad.yaml"), atomically: true, encoding: .utf8)
        try """
            policies:
              - name: greedy
                devices: all
                allow: { publish: ["fleet/+/telemetry/#"] }
            """.write(toFile: folder.file("reach.yaml"), atomically: true, encoding: .utf8)
        let reach = try fleetctl(["lint", "--json"], policies: folder.path)
        #expect(reach.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(reach.standardOutput.utf8)) as? [String: Any]
        #expect(object?["errors"] as? Int == 1)
    }

    @Test func exportWritesTheFileAndReportsWhatItWrote() throws {
        let folder = try TemporaryDirectory("acl-cli-export")
        let out = folder.file("acl.conf")
        let result = try fleetctl(["export", "--format", "mosquitto", "--out", out])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardError.contains("8 per-principal blocks, 6 shared rules"))
        let golden = try String(contentsOfFile: PolicyFixtures.fixtures + "/golden/example.mosquitto.acl",
            encoding: .utf8)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == golden)
        #expect(try fleetctl(["export", "--format", "nginx"]).status == 2)
    }

    @Test func everyAclCommandHasHelp() throws {
        for words in [["acl", "--help"], ["acl", "check", "--help"], ["acl", "lint", "--help"],
                      ["acl", "export", "--help"]] {
            let result = try runCommand(builtProduct("fleetctl"), words)
            #expect(result.status == 0)
            #expect(result.standardOutput.contains("fleetctl acl"))
        }
    }
}
