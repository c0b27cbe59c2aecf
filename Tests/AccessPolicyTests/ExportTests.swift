import AccessPolicy
import AtomicFiles
import Foundation
import Testing
import TestSupport

@Suite struct ExportTests {
    private static let goldenNames: [ACLFormat: String] = [
        .mosquitto: "example.mosquitto.acl", .mosquittoDynsec: "example.dynamic-security.json",
        .emqx: "example.emqx.acl.conf", .vernemq: "example.vernemq.acl",
    ]

    private func exampleExport(_ format: ACLFormat) throws -> ACLExport {
        let (policies, principals) = try PolicyFixtures.examples()
        return try ACLExporter(policies: policies, principals: principals).export(format)
    }

    /// Set FLEET_UPDATE_GOLDEN=1 to rewrite the files after reviewing a deliberate change.
    @Test(arguments: ACLFormat.allCases)
    func exportOfTheExamplesMatchesItsReviewedGoldenFile(format: ACLFormat) throws {
        let text = try exampleExport(format).text
        let path = PolicyFixtures.fixtures + "/golden/" + ExportTests.goldenNames[format]!
        if ProcessInfo.processInfo.environment["FLEET_UPDATE_GOLDEN"] == "1" {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == golden)
    }

    @Test(arguments: ACLFormat.allCases)
    func theSameInputsGiveTheSameBytesWhateverTheirOrder(format: ACLFormat) throws {
        let (policies, principals) = try PolicyFixtures.examples()
        let first = try ACLExporter(policies: policies, principals: principals).export(format).text
        let second = try ACLExporter(policies: policies, principals: principals.reversed()).export(format).text
        let reloaded = try ACLExporter(policies: try PolicySet.load(path: PolicyFixtures.examplePolicies),
            principals: principals.shuffled()).export(format).text
        #expect(first == second)
        #expect(first == reloaded)
    }

    @Test func vernemqExportHasNoReadwriteNoDenyAndNothingBeforeTheFirstUser() throws {
        let text = try exampleExport(.vernemq).text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            #expect(!words.contains("readwrite"), "\(line)")
            #expect(!words.contains("deny"), "\(line)")
            #expect(!line.hasPrefix("pattern"), "\(line)")
        }
        let firstUser = try #require(lines.firstIndex { $0.hasPrefix("user ") })
        for line in lines[..<firstUser] { #expect(line.isEmpty || line.hasPrefix("#"), "\(line)") }
        for line in lines[firstUser...] where !line.isEmpty {
            #expect(line.hasPrefix("user ") || line.hasPrefix("topic read ") || line.hasPrefix("topic write "),
                "\(line)")
        }
        #expect(text.hasSuffix("\n"))
        #expect(!text.contains("sensor-old"))  // the revoked device has no block at all
        #expect(!text.contains("fleet/sensor-003/telemetry"))  // the quarantine deny is honoured by omission
    }

    @Test func vernemqRefusesADenyThatTakesOnlyPartOfAGrant() throws {
        let policies = try PolicyFixtures.policies("""
            policies:
              - name: g
                devices: all
                allow: { publish: ['fleet/{device}/#'] }
                deny: { publish: ['fleet/{device}/secret'] }
            """)
        #expect(throws: PolicyError.self) {
            try ACLExporter(policies: policies, principals: [PolicyFixtures.device("d1")]).export(.vernemq)
        }
        let mosquitto = try ACLExporter(policies: policies, principals: [PolicyFixtures.device("d1")])
            .export(.mosquitto).text
        #expect(mosquitto.contains("pattern deny fleet/%u/secret"))
    }

    @Test func emqxOrdersDeniesFirstAndEndsWithDenyAll() throws {
        let text = try exampleExport(.emqx).text
        #expect(text.hasSuffix("{deny, all}.\n"))
        let terms = text.split(separator: "\n").filter { !$0.hasPrefix("%%") }
        for term in terms { #expect(term.hasPrefix("{") && term.hasSuffix("}."), "\(term)") }
        let deny = try #require(terms.firstIndex { $0.contains("{deny, {username, \"sensor-003\"}, publish") })
        let shared = try #require(terms.firstIndex { $0.contains("${username}") })
        #expect(deny < shared)
        let revoked = try #require(terms.firstIndex { $0.contains("sensor-old") })
        #expect(revoked == 0)
    }

    @Test func emqxRefusesASubscribeDenyCarvedFromABroaderGrant() throws {
        let policies = try PolicyFixtures.policies("""
            policies:
              - name: c
                services: [c]
                allow: { subscribe: ['fleet/+/telemetry/#'] }
                deny: { subscribe: ['fleet/+/telemetry/secret'] }
            """)
        let exporter = try ACLExporter(policies: policies, principals: [PolicyFixtures.service("c")])
        #expect(throws: PolicyError.self) { try exporter.export(.emqx) }
        #expect(throws: PolicyError.self) { try exporter.export(.vernemq) }
        // Mosquitto and dynsec check read rights per delivered message, so they can say it exactly.
        #expect(try exporter.export(.mosquitto).text.contains("topic deny fleet/+/telemetry/secret"))
        #expect(try exporter.export(.mosquittoDynsec).text.contains("\"allow\": false"))
    }

    @Test func mosquittoRefusesADenyThatWouldAlsoTakeTheOtherAction() throws {
        let policies = try PolicyFixtures.policies("""
            policies:
              - name: c
                services: [c]
                allow: { subscribe: ['fleet/#'], publish: ['fleet/#'] }
                deny: { publish: ['fleet/locked/#'] }
            """)
        let exporter = try ACLExporter(policies: policies, principals: [PolicyFixtures.service("c")])
        do {
            _ = try exporter.export(.mosquitto)
            Issue.record("an inexpressible deny was exported")
        } catch {
            #expect(error.message.contains("removes read and write together"))
        }
    }

    @Test func revokedPrincipalsGetNoRightsInAnyFormat() throws {
        let mosquitto = try exampleExport(.mosquitto).text
        #expect(mosquitto.contains("user sensor-old\n# revoked: no rights\ntopic deny #\n\n"))
        let dynsec = try exampleExport(.mosquittoDynsec).text
        let json = try JSONSerialization.jsonObject(with: Data(dynsec.utf8)) as! [String: Any]
        let clients = json["clients"] as! [[String: Any]]
        let old = try #require(clients.first { $0["username"] as? String == "sensor-old" })
        #expect(old["disabled"] as? Bool == true)
        #expect((old["roles"] as? [Any])?.isEmpty == true)
        let defaults = json["defaultACLAccess"] as! [String: Bool]
        #expect(defaults == ["publishClientSend": false, "publishClientReceive": false, "subscribe": false,
            "unsubscribe": true])
    }

    @Test func sharedDeviceRulesBecomePatternsBeforeAnyUserLine() throws {
        let text = try exampleExport(.mosquitto).text
        let lines = text.split(separator: "\n").map(String.init)
        let firstUser = try #require(lines.firstIndex { $0.hasPrefix("user ") })
        #expect(lines[..<firstUser].allSatisfy { $0.hasPrefix("#") || $0.hasPrefix("pattern ") })
        #expect(lines[firstUser...].allSatisfy { !$0.hasPrefix("pattern ") })
        #expect(lines.contains("pattern write fleet/%u/telemetry/#"))
        #expect(!lines.contains("user sensor-001"))  // nothing beyond the shared rules: no block
    }

    @Test func userBlocksAreCountedAndManyOfThemWarn() throws {
        let policies = try PolicyFixtures.policies("""
            groups: { special: x }
            policies:
              - name: own
                devices: all
                allow: { publish: ['fleet/{device}/status'] }
              - name: extra
                groups: [special]
                allow: { publish: ['extra/{device}'] }
            """)
        let plain = (0..<6000).map { PolicyFixtures.device(String(format: "d%05d", $0)) }
        let quiet = try ACLExporter(policies: policies, principals: plain).export(.mosquitto)
        #expect(quiet.userBlocks == 0)
        #expect(quiet.warnings.isEmpty)
        let special = (0..<6000).map { PolicyFixtures.device(String(format: "d%05d", $0), ["special"]) }
        let loud = try ACLExporter(policies: policies, principals: special).export(.mosquitto)
        #expect(loud.userBlocks == 6000)
        #expect(loud.warnings.contains { $0.contains("6000 user blocks") })
    }

    @Test func servicesAreKeptOutOfDevicePatternsAndTheNarrowingIsReported() throws {
        let export = try exampleExport(.mosquitto)
        #expect(export.text.contains("user telemetry-consumer\ntopic deny fleet/telemetry-consumer/telemetry/#\n"))
        #expect(export.narrowed.contains { $0.principal == "telemetry-consumer" && $0.filter.text
            == "fleet/telemetry-consumer/status" })
        #expect(export.warnings.contains { $0.contains("service 'telemetry-consumer'") })
    }

    @Test func topicsAFormatWouldMisreadAreRefused() throws {
        // Braces only ever form placeholders, so EMQX's ${...} cannot arrive from a policy.
        #expect(throws: PolicyErrors.self) {
            try PolicyFixtures.policies("policies: [{name: p, services: [p], allow: {publish: ['a/${x}']}}]")
        }
        let spaced = try PolicyFixtures.policies(
            "policies: [{name: p, services: [p], allow: {publish: ['a b/c']}}]")
        #expect(throws: PolicyError.self) {
            try ACLExporter(policies: spaced, principals: [PolicyFixtures.service("p")]).export(.vernemq)
        }
        #expect(throws: PolicyErrors.self) {
            try PolicyFixtures.policies("policies: [{name: p, services: [p], allow: {publish: ['a/b ']}}]")
        }
        let percent = try PolicyFixtures.policies(
            "policies: [{name: p, devices: all, allow: {publish: ['x/%c/{device}']}}]")
        #expect(throws: PolicyError.self) {
            try ACLExporter(policies: percent, principals: [PolicyFixtures.device("d")]).export(.mosquitto)
        }
    }

    @Test func inertRulesAreRefused() throws {
        let policies = try PolicyFixtures.policies("policies: [{name: m, services: [m], allow: {publish: ['$SYS/x']}}]")
        let exporter = try ACLExporter(policies: policies, principals: [PolicyFixtures.service("m")])
        for format in ACLFormat.allCases { #expect(throws: PolicyError.self) { try exporter.export(format) } }
    }

    @Test func twoPrincipalsWithOneIdAreRefused() throws {
        let (policies, _) = try PolicyFixtures.examples()
        #expect(throws: PolicyError.self) {
            try ACLExporter(policies: policies, principals: [PolicyFixtures.device("x"), PolicyFixtures.service("x")])
        }
    }

    /// K06: ids that would change a pattern's meaning never become principals, so never reach `%u`.
    @Test func idsWithSlashPlusOrHashNeverReachAPattern() {
        for id in ["a/b", "dev+1", "dev#"] {
            #expect(throws: PolicyError.self) { try Principal(id: id, kind: .device) }
            let data = Data("[{\"id\": \"\(id)\"}]".utf8)
            #expect(throws: PolicyError.self) { try PrincipalList.decode(data, file: "p.json") }
        }
    }

    @Test func exportsAreWrittenAtomically() throws {
        let folder = try TemporaryDirectory("acl-export")
        let path = folder.file("acl")
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        let text = try exampleExport(.mosquitto).text
        try AtomicFile.write(text, to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["acl"])
        #expect(throws: AtomicFileError.self) { try AtomicFile.write(text, to: folder.file("missing/acl")) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
    }
}
