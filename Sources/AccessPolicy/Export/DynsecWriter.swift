/// Writes the JSON configuration of Mosquitto's dynamic-security plugin (`dynamic-security.json`).
///
/// Every ACL default is deny (`publishClientReceive` included). Each principal gets a role of its own:
/// denies at priority 1 (`publishClientSend` for publish, `publishClientReceive` for subscribe, so a
/// deny is checked per delivered message), grants at priority 0 (`publishClientSend`, or
/// `publishClientReceive` plus `subscribePattern`). Revoked principals are disabled and hold no role:
/// the plugin does not enforce `disabled` for certificate identities, so having no rights is what counts.
/// Clients carry no password: they authenticate with certificates. Never combine with `acl_file`.
struct DynsecWriter {
    let exporter: ACLExporter

    func write() throws(PolicyError) -> ACLExport {
        var clients: [String] = []
        var roles: [String] = []
        for principal in exporter.principals {
            let role = "fleet-\(principal.id)"
            guard !principal.revoked else {
                clients.append(client(principal, role: nil))
                continue
            }
            let rights = PrincipalRights(principal, policies: exporter.policies)
            var acls: [String] = []
            for deny in rights.denies where rights.allows.contains(where: {
                $0.action == deny.action && $0.filter.intersects(deny.filter)
            }) {
                let type = deny.action == .publish ? "publishClientSend" : "publishClientReceive"
                acls.append(acl(type, deny.filter.text, priority: 1, allow: false))
            }
            for allow in rights.allows where !rights.fullyDenied(allow) {
                if allow.action == .publish {
                    acls.append(acl("publishClientSend", allow.filter.text, priority: 0, allow: true))
                } else {
                    acls.append(acl("publishClientReceive", allow.filter.text, priority: 0, allow: true))
                    acls.append(acl("subscribePattern", allow.filter.text, priority: 0, allow: true))
                }
            }
            clients.append(client(principal, role: acls.isEmpty ? nil : role))
            if !acls.isEmpty {
                roles.append("\t\t{\n\t\t\t\"rolename\": \(json(role)),\n\t\t\t\"acls\": [\n"
                    + acls.map { "\t\t\t\t" + $0 }.joined(separator: ",\n") + "\n\t\t\t]\n\t\t}")
            }
        }
        let text = """
            {
            \t"defaultACLAccess": {
            \t\t"publishClientSend": false,
            \t\t"publishClientReceive": false,
            \t\t"subscribe": false,
            \t\t"unsubscribe": true
            \t},
            \t"clients": [
            \(clients.joined(separator: ",\n"))
            \t],
            \t"groups": [],
            \t"roles": [
            \(roles.joined(separator: ",\n"))
            \t]
            }

            """
        let warnings = ["load this file with the dynamic-security plugin only; never combine it with acl_file"]
        return ACLExport(format: .mosquittoDynsec, text: text, userBlocks: clients.count, sharedRules: 0,
            warnings: warnings)
    }

    private func client(_ principal: Principal, role: String?) -> String {
        let roles = role.map { "[{\"rolename\": \(json($0)), \"priority\": 0}]" } ?? "[]"
        return "\t\t{\"username\": \(json(principal.id)), \"textname\": \(json(principal.kind.rawValue)), "
            + "\"disabled\": \(principal.revoked), \"roles\": \(roles), \"groups\": []}"
    }

    private func acl(_ type: String, _ topic: String, priority: Int, allow: Bool) -> String {
        "{\"acltype\": \"\(type)\", \"topic\": \(json(topic)), \"priority\": \(priority), \"allow\": \(allow)}"
    }

    /// A JSON string literal; control characters are already refused in policy topics.
    private func json(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
