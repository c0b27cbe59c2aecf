import ArgumentParsing
import FleetCA
import Foundation

/// `fleetctl audit`: the audit log, and a check that it is intact.
let auditCommand = Command(
    name: "audit",
    summary: "print the audit log, or verify that no record was altered or removed",
    help: """
        Usage: fleetctl audit [--since D] [--verify] [--home DIR] [--json]

        Prints the audit records of the last D (all by default), oldest first. --verify walks the hash
        chain (each record carries the hash of the one before) and the inventory file's integrity, and
        exits 1 naming every record that was altered or removed.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let since = try CASupport.duration(&arguments, "--since")
    let verify = arguments.flag("--verify")
    let json = arguments.flag("--json")
    try arguments.finish()

    let authority = try CertificateAuthority.open(home: home)
    if verify {
        let problems = try authority.verifyAudit()
        let count = try authority.auditRecords().count
        if json {
            try CASupport.printJSON(AuditVerification(intact: problems.isEmpty, records: count, problems: problems))
        } else if problems.isEmpty {
            print("audit log intact: \(count) records, hash chain verified")
        } else {
            for problem in problems { writeStandardError("fleetctl: \(problem)\n") }
            print("audit log NOT intact: \(problems.count) problem(s)")
        }
        return problems.isEmpty ? 0 : 1
    }
    let records = try authority.auditRecords(since: since.map { Date().addingTimeInterval(-TimeInterval($0)) })
    if json {
        try CASupport.printJSON(records)
    } else {
        for record in records {
            let fields = [String(record.sequence), CASupport.text(record.at), record.actor, record.action]
            print((fields + [record.subject, record.details]).joined(separator: "  "))
        }
    }
    return 0
}

struct AuditVerification: Encodable {
    let intact: Bool
    let records: Int
    let problems: [String]
}
