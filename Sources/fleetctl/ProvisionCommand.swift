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
        which the agent uses only to renew a certificate that expired while it was offline. The CSR must carry a valid self-signature, a key of
        at least P-256 or RSA-2048 and a subject CN equal to ID; the CA decides every extension.

        The agent.json it writes sets "delivery": {"confirm": "consumer"}: the agent keeps each QoS 1/2
        record until the consumer's delivery receipt on fleet/ID/receipt says it is stored, so a broker
        crash loses nothing. The fleet's consumer must therefore send receipts: `fleetctl ingest` does
        (as the telemetry-consumer service, which policies/services.json lets publish on fleet/+/receipt);
        a consumer that does not would have every record resent every receiptTimeout until its TTL ends.
        For such a consumer set "confirm": "broker" in agent.json. See docs/receipts.md.

        With --from, the CSV has a header naming its columns: id (required), groups ("a;b"),
        attributes ("k=v;k=v") and csr (a path relative to the CSV file; empty means a key generated
        here). Each device's bundle goes to DIR/ID. Every row is checked before anything is written;
        devices are committed N per transaction (default 200). A progress bar shows on a terminal.
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
    let groups = try arguments.options("--group")
    let attributes = try parseAttributes(try arguments.options("--attr"))
    let id = try arguments.positional("device ID")
    try arguments.finish()
    guard (csrPath != nil) != generate else { throw UsageError("give exactly one of --csr FILE and --generate-key") }

    try IdentityName.validate(id)
    let request = try csrPath.map(CASupport.readRequest)
    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    try DeviceBundle.check(folder: out, replacing: false)
    let credential = try authority.provision(
        DeviceEnrollment(
            id: id, groups: groups, attributes: attributes, request: request, validitySeconds: validity))
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
    }
    return 0
}

/// `k=v` words as a dictionary; a word without `=` is a usage error naming it.
func parseAttributes(_ words: [String]) throws(UsageError) -> [String: String] {
    var attributes: [String: String] = [:]
    for word in words {
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
            throw UsageError("attribute '\(word)' must be written as key=value")
        }
        attributes[String(word[..<equals])] = String(word[word.index(after: equals)...])
    }
    return attributes
}

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
        let enrollments = try readEnrollments()
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        for enrollment in enrollments { try DeviceBundle.check(folder: "\(out)/\(enrollment.id)", replacing: false) }

        let progress = ProgressBar(total: enrollments.count)
        let results = try authority.provision(batch: enrollments, batchSize: batchSize) { progress.update($0) }
        progress.finish()

        var failures: [Summary.Failure] = []
        var provisioned = 0
        for (enrollment, result) in zip(enrollments, results) {
            switch result {
            case .success(let credential):
                do {
                    let recovery = try authority.issueRecoveryCredential(deviceID: enrollment.id)
                    try DeviceBundle.write(
                        credential, deviceID: enrollment.id, authority: authority,
                        to: "\(out)/\(enrollment.id)", replacing: false, recovery: recovery)
                    provisioned += 1
                } catch {
                    failures.append(Summary.Failure(id: enrollment.id, error: "\(error)"))
                }
            case .failure(let error):
                failures.append(Summary.Failure(id: enrollment.id, error: error.message))
            }
        }
        if json {
            try CASupport.printJSON(Summary(provisioned: provisioned, failed: failures, out: out))
        } else {
            print("provisioned \(provisioned) of \(enrollments.count) devices from \(csvPath) into \(out)")
            for failure in failures { print("  failed \(failure.id): \(failure.error)") }
        }
        return failures.isEmpty ? 0 : 1
    }

    private func readEnrollments() throws -> [DeviceEnrollment] {
        let text: String
        do { text = try String(contentsOfFile: csvPath, encoding: .utf8) } catch {
            throw UsageError("cannot read the CSV file '\(csvPath)'")
        }
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        guard !lines.isEmpty else { throw FleetCAError(.invalidInput, "the CSV file '\(csvPath)' is empty") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let known = ["id", "groups", "attributes", "csr"]
        for column in header where !known.contains(column) {
            throw FleetCAError(
                .invalidInput,
                "the CSV file '\(csvPath)' has an unknown column '\(column)'; "
                    + "known columns are id, groups, attributes, csr")
        }
        guard let idColumn = header.firstIndex(of: "id") else {
            throw FleetCAError(.invalidInput, "the CSV file '\(csvPath)' needs a header line with an 'id' column")
        }
        let folder = URL(fileURLWithPath: csvPath).deletingLastPathComponent().path
        var enrollments: [DeviceEnrollment] = []
        for (offset, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count == header.count else {
                throw FleetCAError(
                    .invalidInput,
                    "line \(offset + 2) of '\(csvPath)' has \(cells.count) fields; the header has \(header.count)")
            }
            func cell(_ name: String) -> String { header.firstIndex(of: name).map { cells[$0] } ?? "" }
            let groups = cell("groups").split(separator: ";").map(String.init)
            let attributes = try parseAttributes(cell("attributes").split(separator: ";").map(String.init))
            var request: CertificateSigningRequest?
            let csr = cell("csr")
            if !csr.isEmpty { request = try CASupport.readRequest(csr.hasPrefix("/") ? csr : "\(folder)/\(csr)") }
            enrollments.append(
                DeviceEnrollment(
                    id: cells[idColumn], groups: groups, attributes: attributes,
                    request: request, validitySeconds: validity))
        }
        return enrollments
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
