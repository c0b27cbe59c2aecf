import AccessPolicy
import Foundation
import Testing
import TestSupport

/// The exported Mosquitto acl_file, loaded by a real Mosquitto, does what `fleetctl acl check` says.
///
/// Clients are Python paho-mqtt over MQTT v5 (a client nobody here wrote): publish is judged by the PUBACK
/// reason code, read rights by whether a message a privileged writer publishes is delivered, never by the
/// SUBACK. The broker listens on plain TCP on loopback with a password file whose usernames are the
/// principal ids, since acl_file keys on the username exactly as it does with certificate identities.
@Suite struct BrokerAgreementTests {
    private static let password = "table-secret"
    private static let writer = "table-writer"
    private static var passwordTool: String {
        let found = resolveExecutable("mosquitto_passwd")
        return found.contains("/") ? found : "/usr/bin/mosquitto_passwd"
    }

    /// One (principal, action, topic) case and what each side said.
    private struct Case {
        let principal: String
        let action: Action
        let topic: String
    }

    @Test func aclCheckAgreesWithMosquittoOnEveryCaseOfTheExamples() throws {
        try checkAgreement(policiesPath: PolicyFixtures.examplePolicies,
            principalsPath: PolicyFixtures.examplePrincipalsFile, minimumNarrowed: 1)
    }

    /// The dynamic-security export, loaded by Mosquitto's own plugin, agrees on every case too, with no
    /// narrowing: its roles are per client, so nothing shared has to be taken back from services.
    @Test func aclCheckAgreesWithMosquittoDynamicSecurityOnEveryCaseOfTheExamples() throws {
        try checkAgreement(policiesPath: PolicyFixtures.examplePolicies,
            principalsPath: PolicyFixtures.examplePrincipalsFile, format: .mosquittoDynsec, minimumNarrowed: 0)
    }

    /// Policies built to stress the layering: shared denies over group grants, `{group}`, named devices,
    /// service denies under broader grants, a revoked member of a group with extra rights.
    @Test func aclCheckAgreesWithMosquittoOnPoliciesThatStressTheLayering() throws {
        let folder = PolicyFixtures.fixtures + "/tricky"
        try checkAgreement(policiesPath: folder, principalsPath: folder + "/principals/principals.json",
            extraTopics: Self.trickyTopics, minimumNarrowed: 0)
    }

    @Test func dynamicSecurityAgreesOnPoliciesThatStressTheLayering() throws {
        let folder = PolicyFixtures.fixtures + "/tricky"
        try checkAgreement(policiesPath: folder, principalsPath: folder + "/principals/principals.json",
            extraTopics: Self.trickyTopics, format: .mosquittoDynsec, minimumNarrowed: 0)
    }

    private static let trickyTopics = [
        "fleet/{me}/telemetry/private", "broadcast/news", "broadcast/secret/x", "broadcast/secret",
        "vip/{me}/x", "vip/s1/x", "labs/lab/{me}/data", "labs/lab/notes", "labs/lab/l1/data", "labs/other/notes",
        "special/x", "special/hidden", "special/hidden/deeper", "fleet/s2/telemetry/private",
    ]

    private func checkAgreement(
        policiesPath: String, principalsPath: String, extraTopics: [String] = [], format: ACLFormat = .mosquitto,
        minimumNarrowed: Int
    ) throws {
        let folder = try TemporaryDirectory("acl-table")
        let policies = try PolicySet.load(path: policiesPath)
        let principals = try PrincipalList.load(path: principalsPath)
        let export = try ACLExporter(policies: policies, principals: principals).export(format)
        let broker = try format == .mosquitto
            ? startBroker(in: folder, principals: principals.map(\.id), anonymous: false,
                policiesPath: policiesPath, principalsPath: principalsPath)
            : startDynsecBroker(in: folder, policiesPath: policiesPath, principalsPath: principalsPath)
        defer { broker.kill() }

        var cases: [Case] = []
        var spec: [[String: Any]] = []
        for principal in principals {
            let topics = topicsToTry(for: principal.id, extra: extraTopics)
            cases += topics.map { Case(principal: principal.id, action: .publish, topic: $0) }
            cases += topics.map { Case(principal: principal.id, action: .subscribe, topic: $0) }
            var sentinel: String?
            for topic in topics where !topic.hasPrefix("$") && !isNarrowed(export, principal.id, topic) {
                if try policies.decide(principal, .subscribe, topic).allowed {
                    sentinel = topic
                    break
                }
            }
            spec.append(["id": principal.id, "publish": topics, "read": topics, "sentinel": sentinel as Any])
        }
        #expect(cases.count >= 200)

        // $SYS/broker/uptime comes every second (sys_interval 1): wait long enough to see it twice.
        let results = try runTable(spec, port: broker.port, in: folder, sysWait: 2.5)
        var disagreements: [String] = []
        var narrowedSeen = 0
        for (index, item) in cases.enumerated() {
            let principal = principals.first { $0.id == item.principal }
            let expected = try policies.decide(principal, item.action, item.topic).allowed
            // `fleetctl acl check` is this same decision; prove it on a fixed sample to keep the test short.
            if index % 5 == 0 {
                #expect(try checkWithCLI(item, policiesPath, principalsPath) == expected, "\(item)")
            }
            let byBroker: Bool
            if item.action == .publish {
                let code = try #require(results[item.principal]?["publish"]?[item.topic] as? Int, "\(item)")
                byBroker = code < 0x80
                if !byBroker { #expect(code == 0x87, "refused with \(code), not 0x87: \(item)") }
            } else {
                byBroker = try #require(results[item.principal]?["read"]?[item.topic] as? Bool, "\(item)")
            }
            if isNarrowed(export, item.principal, item.topic) {
                // The export lists these: a service loses rights on topics named after itself. Never more.
                if byBroker { disagreements.append("narrowed \(item) was allowed by the broker") }
                if expected { narrowedSeen += 1 }
                continue
            }
            if expected != byBroker {
                let shown = item.topic.count > 80 ? String(item.topic.prefix(80)) + "..." : item.topic
                disagreements.append("\(item.principal) \(item.action.rawValue) \(shown): acl check "
                    + "\(expected ? "allow" : "deny"), broker \(byBroker ? "allow" : "deny")")
            }
        }
        let report = disagreements.joined(separator: "\n")
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(cases.count) cases disagree:\n\(report)")
        #expect(narrowedSeen >= minimumNarrowed)
        // The table must exercise both answers for both actions, or it proves little.
        let allowedReads = cases.filter { $0.action == .subscribe && (results[$0.principal]?["read"]?[$0.topic]
            as? Bool) == true }
        #expect(allowedReads.count >= 20)
    }

    /// K07: with anonymous access switched on, the exported file still gives an unnamed client nothing.
    @Test func noRuleReachesAnAnonymousClient() throws {
        let folder = try TemporaryDirectory("acl-anon")
        let (_, principals) = try PolicyFixtures.examples()
        let broker = try startBroker(in: folder, principals: principals.map(\.id), anonymous: true)
        defer { broker.kill() }
        let topics = topicsToTry(for: "sensor-001") + ["fleet/%u/status", "fleet/%c/status", "fleet//status"]
        let spec: [[String: Any]] = [
            ["id": "anonymous-probe", "anonymous": true, "publish": topics, "read": topics, "sentinel": NSNull()]
        ]
        let results = try runTable(spec, port: broker.port, in: folder)
        let published = try #require(results["anonymous-probe"]?["publish"])
        let read = try #require(results["anonymous-probe"]?["read"])
        #expect(published.count == topics.count)
        for (topic, code) in published { #expect(code as? Int == 0x87, "anonymous publish on \(topic)") }
        for (topic, delivered) in read { #expect(delivered as? Bool == false, "anonymous read on \(topic)") }
    }

    /// K06, shown against the broker: if a username with '/' ever connected, `%u` would put it inside
    /// another device's subtree. Principal validation refuses such ids, so they never reach the broker.
    @Test func aSlashInAUsernameWouldReachAnotherDevicesSubtree() throws {
        let folder = try TemporaryDirectory("acl-k06")
        let (_, principals) = try PolicyFixtures.examples()
        let forged = "sensor-002/telemetry/spoof"
        #expect(throws: PolicyError.self) { try Principal(id: forged, kind: .device) }
        let broker = try startBroker(in: folder, principals: principals.map(\.id) + [forged], anonymous: false)
        defer { broker.kill() }
        let spec: [[String: Any]] = [
            ["id": forged, "publish": ["fleet/\(forged)/status"], "read": [String](), "sentinel": NSNull()]
        ]
        let results = try runTable(spec, port: broker.port, in: folder)
        let code = try #require(results[forged]?["publish"]?["fleet/\(forged)/status"] as? Int)
        #expect(code < 0x80, "the broker let '\(forged)' write into sensor-002's telemetry: code \(code)")
    }

    // MARK: - The table

    private func topicsToTry(for me: String, extra: [String] = []) -> [String] {
        let other = me == "sensor-002" ? "sensor-001" : "sensor-002"
        let deep = (0..<190).map { "l\($0 % 10)" }.joined(separator: "/")
        let topics = [
            "fleet/\(me)/telemetry/host", "fleet/\(me)/telemetry", "fleet/\(me)/telemetry/a/b/c",
            "fleet/\(me)/telemetry/", "fleet/\(me)/telemetry//x", "fleet/\(me)/status", "fleet/\(me)/status/x",
            "fleet/\(me)/statusx", "fleet/\(me)/command", "fleet/\(me)/pki/request", "fleet/\(me)/pki/response",
            "fleet/\(me)", "fleet/\(me)//status", "/fleet/\(me)/status", "fleet/\(me)/receipt",
            "fleet/\(me)/receipt/x", "fleet/\(other)/receipt",
            "fleet/\(other)/telemetry/host", "fleet/\(other)/status", "fleet/\(other)/command",
            "fleet/\(other)/pki/request", "fleet/\(other)/pki/response", "fleet/gw-berlin/telemetry/x",
            "sites/berlin/telemetry/line1", "sites/berlin/alarms", "sites/berlin/config", "sites/lyon/config",
            "sites/lyon/alarms", "sites//alarms", "sites/berlin/alarms/extra",
            "$SYS/broker/uptime", "fleet//telemetry/x", "fleet", "other/topic",
            "fleet/\(me)/telemetry/\(deep)", "fleet/\(me)/telemetry/" + String(repeating: "x", count: 20_000),
            "fleet/" + String(repeating: "y", count: 5_000) + "/status",
        ] + extra.map { $0.replacingOccurrences(of: "{me}", with: me) }
        var seen = Set<String>()
        return topics.filter { seen.insert($0).inserted }
    }

    private func isNarrowed(_ export: ACLExport, _ principal: String, _ topic: String) -> Bool {
        export.narrowed.contains { $0.principal == principal && $0.filter.matches(topic) }
    }

    /// What `fleetctl acl check` says, by running it.
    private func checkWithCLI(_ item: Case, _ policiesPath: String, _ principalsPath: String) throws -> Bool {
        let result = try runCommand(builtProduct("fleetctl"), [
            "acl", "check", item.principal, item.action.rawValue, item.topic, "--json",
            "--policies", policiesPath, "--principals", principalsPath,
        ])
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        let decision = object?["decision"] as? String
        #expect((decision == "allow") == (result.status == 0), "\(result)")
        #expect(result.status == 0 || result.status == 1, "\(result)")
        return decision == "allow"
    }

    // MARK: - Broker and client

    /// A broker with the exported acl_file (written by `fleetctl acl export --out`) plus one block for
    /// the test's writer, and a password file holding every name in `users`.
    private func startBroker(
        in folder: TemporaryDirectory, principals: [String], anonymous: Bool,
        policiesPath: String = PolicyFixtures.examplePolicies,
        principalsPath: String = PolicyFixtures.examplePrincipalsFile
    ) throws -> MosquittoBroker {
        let acl = folder.file("acl")
        let export = try runCommand(builtProduct("fleetctl"), [
            "acl", "export", "--format", "mosquitto", "--out", acl,
            "--policies", policiesPath, "--principals", principalsPath,
        ])
        try #require(export.status == 0, "\(export)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: acl))
        handle.seekToEndOfFile()
        let writerBlock = "\n# test only: the writer of the read cases\nuser \(Self.writer)\ntopic write #\n"
        handle.write(Data(writerBlock.utf8))
        try handle.close()

        let passwords = folder.file("passwords")
        FileManager.default.createFile(atPath: passwords, contents: nil)
        for user in principals + [Self.writer] {
            let made = try runCommand(Self.passwordTool, ["-b", passwords, user, Self.password])
            try #require(made.status == 0, "\(made)")
        }
        return try MosquittoBroker(configuration: """
            allow_anonymous \(anonymous)
            password_file \(passwords)
            acl_file \(acl)
            sys_interval 1
            """)
    }

    /// A broker with the dynamic-security plugin and the exported JSON (no acl_file, as the export says).
    /// The test gives each client a password, since this broker checks passwords where production uses
    /// certificates, and enables revoked clients, since the plugin does not enforce `disabled` for
    /// certificate identities: the revoked ones must have no rights regardless.
    private func startDynsecBroker(in folder: TemporaryDirectory, policiesPath: String, principalsPath: String)
        throws -> MosquittoBroker
    {
        let config = folder.file("dynamic-security.json")
        let export = try runCommand(builtProduct("fleetctl"), [
            "acl", "export", "--format", "mosquitto-dynsec", "--out", config,
            "--policies", policiesPath, "--principals", principalsPath,
        ])
        try #require(export.status == 0, "\(export)")
        let prepared = try runCommand(interopPython(), [
            PolicyFixtures.fixtures + "/dynsec_test_passwords.py", config, Self.password, Self.writer,
        ])
        try #require(prepared.status == 0, "\(prepared)")
        let plugin = ["/usr/lib/x86_64-linux-gnu", "/usr/lib"].map { $0 + "/mosquitto_dynamic_security.so" }
            .first { FileManager.default.fileExists(atPath: $0) }
        let found = try #require(plugin, "Mosquitto's dynamic-security plugin is not installed")
        return try MosquittoBroker(configuration: """
            allow_anonymous false
            plugin \(found)
            plugin_opt_config_file \(config)
            sys_interval 1
            """)
    }

    /// Runs the paho-mqtt table script; returns principal -> "publish"|"read" -> topic -> code|delivered.
    private func runTable(
        _ principals: [[String: Any]], port: UInt16, in folder: TemporaryDirectory, sysWait: Double = 0
    ) throws
        -> [String: [String: [String: Any]]]
    {
        let python = interopPython()
        try #require(FileManager.default.isExecutableFile(atPath: python),
            "no interop Python at \(python): run 'make deps' (it builds .build/venv with paho-mqtt)")
        let spec: [String: Any] = ["port": Int(port), "password": Self.password, "writer": Self.writer,
            "sysWait": sysWait, "principals": principals]
        let specPath = folder.file("spec.json")
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: specPath))
        let result = try runCommand(python, [PolicyFixtures.fixtures + "/broker_table.py", specPath])
        try #require(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        return try #require(object as? [String: [String: [String: Any]]])
    }
}
