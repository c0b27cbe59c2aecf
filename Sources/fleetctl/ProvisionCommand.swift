import ArgumentParsing
import FleetCA
import Foundation
import PKI

#if canImport(Glibc)
    import Glibc
#endif

/// `fleetctl provision`: records devices and issues their certificates and bundles.
let provisionCommand = Command(
    name: "provision",
    summary: "record a device (or many from a CSV file) and issue its certificate and bundle",
    help: """
        Usage: fleetctl provision ID (--csr FILE | --generate-key) --out DIR [--group G]... [--attr k=v]...
                                  [--validity D] [--home DIR] [--passphrase-file F] [--json]
               fleetctl provision --from FILE.csv --out DIR [--batch N] [--validity D] [--home DIR] [--json]

        Writes the bundle into DIR: cert.pem, chain.pem (the issuing CA), root.pem, agent.json, and
        key.pem (mode 0600) only with --generate-key. Every device also gets its recovery credential,
        recovery-cert.pem and recovery-key.pem (0600; identity recovery~ID, long-lived, key made here),
        which the agent uses only to renew a certificate that expired while it was offline. The CSR must
        carry a valid self-signature, a key of at least P-256 or RSA-2048 and a subject CN equal to ID; the
        CA decides every extension. DIR is created (0700) and proven writable before anything is recorded.

        The agent.json it writes sets "delivery": {"confirm": "consumer"}: the agent keeps each QoS 1/2
        record until the consumer's delivery receipt on fleet/ID/receipt says it is stored, so a broker
        crash loses nothing. The fleet's consumer must therefore send receipts: `fleetctl ingest` does
        (as the telemetry-consumer service, which policies/services.json lets publish on fleet/+/receipt);
        a consumer that does not would have every record resent every receiptTimeout until its TTL ends.
        For such a consumer set "confirm": "broker" in agent.json. See docs/receipts.md.

        With --from, the CSV has a header naming its columns: id (required), groups ("a;b"),
        attributes ("k=v;k=v") and csr (a path relative to the CSV file; empty means a key generated
        here). Fields follow RFC 4180: a field in double quotes may hold commas and line breaks, and ""
        stands for a quote. Each device's bundle goes to DIR/ID. Every row is checked first (names, CSR,
        not yet in the inventory, a free bundle folder); any problem is reported as FILE:LINE and nothing
        is written. Devices are committed N per transaction (default 200). A progress bar shows on a terminal.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    guard let out = try arguments.option("--out") else { throw UsageError("missing --out DIR") }
    let validity = try CASupport.duration(&arguments, "--validity")
    let json = arguments.flag("--json")
    if let csv = try arguments.option("--from") {
        let batch = try arguments.option("--batch") { Int($0).flatMap { $0 > 0 ? $0 : nil } } ?? 200
        try arguments.finish()
        return try ProvisionFromFile(
            home: home, passphrase: passphrase, csvPath: csv, out: out, validity: validity,
            batchSize: batch, json: json
        ).run()
    }

    let csrPath = try arguments.option("--csr")
    let generate = arguments.flag("--generate-key")
    let groups = try CommandLineValues.groups(try arguments.options("--group"))
    let attributes = try CommandLineValues.attributes(try arguments.options("--attr"))
    let id = try arguments.positional("device ID")
    try arguments.finish()
    guard (csrPath != nil) != generate else { throw UsageError("give exactly one of --csr FILE and --generate-key") }

    try CommandLineValues.identity(id)
    let request = try csrPath.map(CASupport.readRequest)
    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    let credential = try CASupport.issue(into: out, replacing: false) {
        try authority.provision(
            DeviceEnrollment(
                id: id, groups: groups, attributes: attributes, request: request, validitySeconds: validity))
    }
    let recovery = try authority.issueRecoveryCredential(deviceID: id)
    try DeviceBundle.write(
        credential, deviceID: id, authority: authority, to: out, replacing: false, recovery: recovery)
    if json {
        try CASupport.printJSON(IssuedOutput(credential, bundle: out))
    } else {
        print(
            "provisioned \(id): serial \(credential.record.serial), valid until "
                + "\(CASupport.text(credential.record.notAfter)), "
                + "bundle in \(out)")
        if request != nil {
            print("the device's own key stays with the device: put it beside the bundle as \(out)/key.pem, "
                + "the name agent.json gives it")
        }
        print(brokerNote)
    }
    return 0
}

/// Printed after a new identity: the broker's ACL only names it after the next sync.
let brokerNote =
    "the broker learns of new identities at the next 'fleetctl broker sync --dir BROKER' "
    + "('fleetctl serve --broker-dir' runs one every --sync-interval)"

/// `provision --from FILE.csv`: many devices, batched commits, a progress bar, a summary.
struct ProvisionFromFile {
    let home: CAHome
    let passphrase: String?
    let csvPath: String
    let out: String
    let validity: Int64?
    let batchSize: Int
    let json: Bool

    struct Summary: Encodable {
        struct Failure: Encodable {
            let id: String
            let error: String
        }
        let provisioned: Int
        let failed: [Failure]
        let out: String
    }

    func run() throws -> Int32 {
        // The output folder first: a folder that cannot take the bundles must stop the run before any row
        // is read, let alone committed.
        let createdOut = try DeviceBundle.prepare(folder: out, replacing: true)
        var createdFolders: [String] = []
        do {
            let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
            let enrollments = try checkedEnrollments(authority)
            for enrollment in enrollments {
                let folder = "\(out)/\(enrollment.id)"
                if try DeviceBundle.prepare(folder: folder, replacing: false) { createdFolders.append(folder) }
            }
            return try provision(enrollments, authority: authority)
        } catch {
            for folder in createdFolders { DeviceBundle.discard(folder: folder, created: true) }
            DeviceBundle.discard(folder: out, created: createdOut)
            throw error
        }
    }

    private func provision(_ enrollments: [DeviceEnrollment], authority: CertificateAuthority) throws -> Int32 {
        let progress = ProgressBar(total: enrollments.count)
        let results = try authority.provision(batch: enrollments, batchSize: batchSize) { progress.update($0) }
        progress.finish()

        var failures: [Summary.Failure] = []
        var provisioned = 0
        for (enrollment, result) in zip(enrollments, results) {
            let folder = "\(out)/\(enrollment.id)"
            switch result {
            case .success(let credential):
                do {
                    let recovery = try authority.issueRecoveryCredential(deviceID: enrollment.id)
                    try DeviceBundle.write(
                        credential, deviceID: enrollment.id, authority: authority, to: folder, replacing: false,
                        recovery: recovery)
                    provisioned += 1
                } catch {
                    failures.append(Summary.Failure(id: enrollment.id, error: "\(error)"))
                }
            case .failure(let error):
                DeviceBundle.discard(folder: folder, created: true)
                failures.append(Summary.Failure(id: enrollment.id, error: error.message))
            }
        }
        if json {
            try CASupport.printJSON(Summary(provisioned: provisioned, failed: failures, out: out))
        } else {
            print("provisioned \(provisioned) of \(enrollments.count) devices from \(csvPath) into \(out)")
            print(brokerNote)
            for failure in failures { print("  failed \(failure.id): \(failure.error)") }
        }
        return failures.isEmpty ? 0 : 1
    }

    /// Every row read and checked against the CA (names, CSR, not yet in the inventory, a free bundle folder)
    /// before anything is written; the problems of all rows are reported together, each as FILE:LINE.
    private func checkedEnrollments(_ authority: CertificateAuthority) throws -> [DeviceEnrollment] {
        let rows = try readRows()
        var problems: [String] = []
        var firstLine: [String: Int] = [:]
        var enrollments: [DeviceEnrollment] = []
        for (line, row) in rows {
            do {
                let enrollment = try row()
                if let earlier = firstLine[enrollment.id] {
                    throw CommandFailure("device id '\(enrollment.id)' is already on line \(earlier); each id once")
                }
                firstLine[enrollment.id] = line
                try authority.check(enrollment)
                try DeviceBundle.check(folder: "\(out)/\(enrollment.id)", replacing: false)
                enrollments.append(enrollment)
            } catch {
                problems.append("\(csvPath):\(line): \(error)")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n")
            let more = problems.count > 20 ? "\n(and \(problems.count - 20) more)" : ""
            throw CommandFailure(
                "\(shown)\(more)\n\(problems.count) of \(rows.count) rows refused; nothing was provisioned")
        }
        return enrollments
    }

    /// The CSV's data rows, each as its line and a closure that builds (and so checks) its enrollment.
    private func readRows() throws -> [(Int, () throws -> DeviceEnrollment)] {
        let text = try InputFile.text(csvPath, what: "the CSV file")
        var records: [CSVRecord]
        do { records = try CSVRecords.parse(text) } catch {
            throw CommandFailure("\(csvPath):\(error.line): \(error.message)")
        }
        guard !records.isEmpty else { throw CommandFailure("the CSV file '\(csvPath)' is empty") }
        let headerRecord = records.removeFirst()
        let header = headerRecord.fields.map { $0.lowercased() }
        let known = ["id", "groups", "attributes", "csr"]
        for column in header where !known.contains(column) {
            throw CommandFailure(
                "\(csvPath):\(headerRecord.line): unknown column '\(column)'; "
                    + "known columns are id, groups, attributes, csr")
        }
        guard let idColumn = header.firstIndex(of: "id") else {
            throw CommandFailure("\(csvPath):\(headerRecord.line): the header needs an 'id' column")
        }
        let folder = URL(fileURLWithPath: csvPath).deletingLastPathComponent().path
        return records.map { record in
            let row: () throws -> DeviceEnrollment = {
                let cells = record.fields
                guard cells.count == header.count else {
                    throw CommandFailure("\(cells.count) fields, but the header has \(header.count)")
                }
                func cell(_ name: String) -> String { header.firstIndex(of: name).map { cells[$0] } ?? "" }
                let groups = cell("groups").split(separator: ";").map(String.init)
                let attributes = try CommandLineValues.attributes(
                    cell("attributes").split(separator: ";").map(String.init))
                let csr = cell("csr")
                let request =
                    csr.isEmpty ? nil : try CASupport.readRequest(csr.hasPrefix("/") ? csr : "\(folder)/\(csr)")
                return DeviceEnrollment(
                    id: cells[idColumn], groups: groups, attributes: attributes,
                    request: request, validitySeconds: validity)
            }
            return (record.line, row)
        }
    }
}

/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
final class ProgressBar {
    private let total: Int
    private let enabled: Bool

    init(total: Int) {
        self.total = total
        enabled = isatty(2) == 1 && total > 1
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        writeStandardError("\r[\(bar)] \(done)/\(total)")
    }

    func finish() {
        guard enabled else { return }
        writeStandardError("\n")
    }
}
