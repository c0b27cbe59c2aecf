/// Writes a VerneMQ `vmq_acl` file.
///
/// vmq_acl has no `deny` and no `readwrite`, and any `topic` line before the first `user` line applies
/// to every client. So the file holds comments, then one `user` block per principal with `topic read` and
/// `topic write` lines only. Patterns are not used: with no deny, a pattern could not be taken back from a
/// revoked device or a service. A policy deny is honoured by leaving out what it covers; a deny that takes
/// only part of a grant cannot be written and the export is refused.
struct VerneMQWriter {
    let exporter: ACLExporter

    func write() throws(PolicyError) -> ACLExport {
        var body = ""
        var blocks = 0
        for principal in exporter.principals where !principal.revoked {
            let rights = PrincipalRights(principal, policies: exporter.policies)
            for action in Action.allCases {
                if let (allow, deny) = rights.partlyDenied(action).first {
                    throw PolicyError("cannot express \(deny.rule) for '\(principal.id)' in VerneMQ: vmq_acl has no "
                        + "deny, and it takes only part of '\(allow.filter.text)'")
                }
            }
            let kept = rights.allows.filter { !rights.fullyDenied($0) }
            guard !kept.isEmpty else { continue }
            for grant in kept where grant.filter.text.contains(" ") {
                throw PolicyError("topic '\(grant.filter.text)' holds a space; vmq_acl's line format cannot carry it")
            }
            blocks += 1
            body += "user \(principal.id)\n"
            for grant in kept {
                body += "topic \(grant.action == .publish ? "write" : "read") \(grant.filter.text)\n"
            }
        }
        let header = exporter.header(comment: "#", format: .vernemq, extra: [
            "vmq_acl: user blocks with read/write lines only; revoked principals have no block.",
        ])
        return ACLExport(format: .vernemq, text: header + body, userBlocks: blocks, sharedRules: 0, warnings: [])
    }
}
