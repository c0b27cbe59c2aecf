import AccessPolicy
import ArgumentParsing
import AtomicFiles
import FleetCA
import Foundation
import Provisioning

/// `fleetctl acl check|lint|export`: decisions, policy checks and broker ACL files from the policy folder.
enum ACLCommand {
    static let command = Command(
        name: "acl",
        summary: "check, lint and export the broker access policies",
        help: """
            fleetctl acl: decisions, checks and broker ACL files from the policy folder.

            Usage: fleetctl acl COMMAND [--home DIR] [--policies DIR] [--principals FILE] [OPTIONS]

            --home DIR         the CA whose inventory gives the principals: devices with their groups,
                               attributes and revocation state, and service identities (default
                               $FLEET_HOME, else ./fleet)
            --policies DIR     the policy folder (default HOME/policies when it exists, else ./policies);
                               every .yaml, .yml and .json file in it
            --principals FILE  instead of the inventory, a JSON list of principals:
                               [{"id", "kind", "groups", "attributes", "revoked"}]
            """,
        subcommands: [check, lint, export])

    static let check = Command(
        name: "check",
        summary: "say whether a principal may publish or subscribe on a topic, and which rule decides",
        help: """
            fleetctl acl check PRINCIPAL publish|subscribe TOPIC [--policies DIR] [--principals FILE] [--json]

            Prints allow or deny and the deciding rule (file:line). Deny wins over allow; what no rule grants
            is denied; revoked principals and ids not in the inventory are denied everything.
            For subscribe, TOPIC is the topic of a delivered message; a filter with + or # is allowed only
            when every topic it matches is. Exit status: 0 allow, 1 deny, 2 an invalid command (an unknown
            action, an invalid topic, a wildcard in a publish topic).
            """
    ) { arguments in
        let json = arguments.flag("--json")
        let (policies, principals) = try loadInputs(&arguments)
        let id = try arguments.positional("principal id")
        let actionText = try arguments.positional("action (publish or subscribe)")
        let topic = try arguments.positional("topic")
        try arguments.finish()
        guard let action = Action(rawValue: actionText) else {
            throw UsageError("'\(actionText)' is not an action; use publish or subscribe")
        }
        // An invalid topic is a mistake in the command, not a deny: exit 2 with the reason.
        let decision: Decision
        do { decision = try policies.decide(principals.first { $0.id == id }, action, topic) } catch {
            throw UsageError(topic.isEmpty ? "the topic is empty; give a topic such as fleet/ID/status" : "\(error)")
        }
        if json {
            var object: [String: Any] = [
                "principal": id, "action": action.rawValue, "topic": topic,
                "decision": decision.allowed ? "allow" : "deny", "reason": decision.reason,
            ]
            if let rule = decision.rule {
                object["rule"] =
                    [
                        "policy": rule.policy, "effect": rule.effect.rawValue, "filter": rule.template.text,
                        "file": rule.location.file, "line": rule.location.line,
                    ] as [String: Any]
            }
            print(try jsonText(object))
        } else {
            let at = decision.rule.map { " at \($0.location)" } ?? ""
            print("\(decision.allowed ? "allow" : "deny")\(at): \(decision.reason)")
        }
        return decision.allowed ? 0 : 1
    }

    static let lint = Command(
        name: "lint",
        summary: "find invalid filters, unknown groups or attributes and grants that reach too far",
        help: """
            fleetctl acl lint [--policies DIR] [--principals FILE] [--json]

            Errors (exit 1): files that do not parse, invalid filters (a/#/b, +x), unknown keys, groups or
            attributes, a device grant reaching another device's subtree or the whole tree.
            Warnings (exit 0): empty levels, grants a deny always cancels, rules that can never apply,
            duplicates, services granted the whole tree.
            """
    ) { arguments in
        let json = arguments.flag("--json")
        let (path, principals) = try loadSources(&arguments)
        try arguments.finish()
        var findings: [LintFinding]
        do {
            let policies = try PolicySet.load(path: path)
            findings = PolicyLinter.lint(policies, principals: principals)
        } catch let error as PolicyErrors {
            findings = error.errors.map { problem in
                LintFinding(
                    .error, problem.message,
                    at: problem.file.map {
                        SourceLocation(file: $0, line: problem.line ?? 0)
                    })
            }
        }
        let errors = findings.filter { $0.severity == .error }.count
        if json {
            let list = findings.map { finding -> [String: Any] in
                var item: [String: Any] = ["severity": finding.severity.rawValue, "message": finding.message]
                if let location = finding.location {
                    item["file"] = location.file
                    item["line"] = location.line
                }
                return item
            }
            print(try jsonText(["errors": errors, "warnings": findings.count - errors, "findings": list]))
        } else {
            for finding in findings { print(finding) }
            let warnings = findings.count - errors
            print("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        }
        return errors == 0 ? 0 : 1
    }

    static let export = Command(
        name: "export",
        summary: "write the broker ACL file for mosquitto, mosquitto-dynsec, emqx or vernemq",
        help: """
            fleetctl acl export --format mosquitto|mosquitto-dynsec|emqx|vernemq [--out FILE]
                                [--policies DIR] [--principals FILE] [--json]

            Writes the ACL to FILE atomically (a temporary file renamed over it), or to standard output.
            The same policies and principals give the same bytes. Revoked principals get no rights. A rule
            the broker cannot express exactly is refused with the reason, never written as an inert line.
            Mosquitto: rules every device shares become %u patterns; user blocks are written for services,
            revoked devices and devices with rights of their own, and counted, with a warning when a reload
            would get slow. mosquitto-dynsec: the dynamic-security plugin's JSON; never combine with acl_file.
            """
    ) { arguments in
        let json = arguments.flag("--json")
        guard let formatText = try arguments.option("--format") else {
            throw UsageError("missing --format; use mosquitto, mosquitto-dynsec, emqx or vernemq")
        }
        guard let format = ACLFormat(rawValue: formatText) else {
            throw UsageError("'\(formatText)' is not a format; use mosquitto, mosquitto-dynsec, emqx or vernemq")
        }
        let out = try arguments.option("--out")
        let (policies, principals) = try loadInputs(&arguments)
        try arguments.finish()
        let result = try ACLExporter(policies: policies, principals: principals).export(format)
        if let out {
            try AtomicFile.write(result.text, to: out)
        } else {
            print(result.text, terminator: "")
        }
        for warning in result.warnings { writeStandardError("fleetctl: warning: \(warning)\n") }
        let summary =
            "\(format.rawValue): \(result.text.utf8.count) bytes, \(result.userBlocks) per-principal "
            + "blocks, \(result.sharedRules) shared rules" + (out.map { ", written to \($0)" } ?? "")
        if json && out != nil {
            print(
                try jsonText([
                    "format": format.rawValue, "bytes": result.text.utf8.count, "userBlocks": result.userBlocks,
                    "sharedRules": result.sharedRules, "warnings": result.warnings, "out": out ?? "",
                ]))
        } else {
            writeStandardError("fleetctl: \(summary)\n")
        }
        return 0
    }

    /// The policy set and principals the options name.
    private static func loadInputs(_ arguments: inout Arguments) throws -> (PolicySet, [Principal]) {
        let (path, principals) = try loadSources(&arguments)
        return (try PolicySet.load(path: path), principals)
    }

    /// The policy folder and the principals the options name: `--principals FILE`, else the inventory of
    /// the CA at `--home`.
    private static func loadSources(_ arguments: inout Arguments) throws -> (String, [Principal]) {
        let home = try CASupport.home(&arguments)
        let inHome = home.path + "/policies"
        let path =
            try arguments.option("--policies") ?? (FileManager.default.fileExists(atPath: inHome) ? inHome : "policies")
        if let file = try arguments.option("--principals") { return (path, try PrincipalList.load(path: file)) }
        guard FileManager.default.fileExists(atPath: home.inventoryPath) else {
            throw UsageError(
                "there is no CA inventory at '\(home.path)' to read the principals from; "
                    + "pass --home DIR or --principals FILE")
        }
        return (path, try InventoryPrincipals.load(from: try CertificateAuthority.open(home: home)))
    }

    private static func jsonText(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
