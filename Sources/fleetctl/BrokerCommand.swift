import ArgumentParsing
import FleetCA
import Foundation
import Provisioning

/// `fleetctl broker init|sync`: a Mosquitto configuration from the CA, and keeping it current.
let brokerCommand = Command(
    name: "broker", summary: "write a Mosquitto configuration from the CA, and sync its CRL and ACL",
    subcommands: [brokerInitCommand, brokerSyncCommand])

private let brokerInitCommand = Command(
    name: "init", summary: "write a broker folder: server certificate, CA, CRL, ACL and mosquitto.conf",
    help: """
        Usage: fleetctl broker init --dir DIR [--host NAME|IP]... [--port N] [--bind ADDR]
                                    [--policies DIR] [--no-persistence] [--home DIR] [--passphrase-file F] [--json]

        Writes into DIR a server certificate from the CA (SAN: every --host, default localhost, plus
        127.0.0.1), ca.pem (root and issuing CA), crl.pem, acl.conf exported from the policies and the
        inventory, two canary credentials for 'broker sync' to prove the result with, and mosquitto.conf:
        an explicit TLS listener on ADDR:N (default 127.0.0.1:8883), TLS 1.2 or newer, a client certificate
        required, the username taken from its CN and the client id bound to it, the CRL and the ACL, no
        anonymous access, persistence under DIR/data. Run as root, the files are readable by the
        'mosquitto' user that the broker drops to. Start the broker with:
            mosquitto -c DIR/mosquitto.conf -d
        --policies defaults to HOME/policies when it exists, else ./policies. Refuses a folder that
        already holds a broker configuration.
        """,
    run: { arguments in
        let home = try CASupport.home(&arguments)
        let passphrase = try CASupport.passphrase(&arguments)
        let json = arguments.flag("--json")
        let noPersistence = arguments.flag("--no-persistence")
        guard let folder = try arguments.option("--dir") else { throw UsageError("missing --dir DIR") }
        let hosts = try arguments.options("--host")
        let port = try arguments.option("--port") { UInt16($0).flatMap { $0 > 0 ? $0 : nil } } ?? 8883
        let bind = try arguments.option("--bind") ?? "127.0.0.1"
        let policies = try arguments.option("--policies") ?? defaultPolicies(home)
        try arguments.finish()

        let names = hosts.filter { !isIPAddress($0) }
        let addresses = hosts.filter(isIPAddress)
        let options = BrokerSetup.Options(
            hostNames: names.isEmpty && addresses.isEmpty ? ["localhost"] : names, ipAddresses: addresses,
            port: port, bindAddress: bind, policies: policies, persistence: !noPersistence)
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        let layout = BrokerLayout(folder: folder)
        let report = try BrokerSetup.initialize(layout: layout, authority: authority, options: options)
        if json {
            try CASupport.printJSON(BrokerReportJSON(report, layout: layout))
        } else {
            for warning in report.warnings { writeStandardError("fleetctl: warning: \(warning)\n") }
            print(
                "broker folder \(layout.folder) written: listener \(bind):\(port), CRL #\(report.crlNumber ?? 0) "
                    + "with \(report.revokedCertificates) revoked, ACL with \(report.aclSharedRules) shared rules and "
                    + "\(report.aclUserBlocks) user blocks")
            print("start it with: mosquitto -c \(layout.configurationPath) -d")
        }
        return 0
    })

private let brokerSyncCommand = Command(
    name: "sync", summary: "deploy the current CRL and ACL to a running broker and prove it enforces them",
    help: """
        Usage: fleetctl broker sync --dir DIR [--pid-file F] [--crl FILE] [--home DIR] [--passphrase-file F]
                                    [--json]

        Checks the CRL (signed by the issuing CA, in force, at least an hour, or a quarter of its lifetime
        when that is shorter, before its nextUpdate, and listing every certificate the inventory says is
        revoked) and the ACL exported from the policies and the inventory; a CRL that fails is never
        deployed and the broker keeps the one it has. Then swaps both
        files in atomically, sends the broker SIGHUP (pid from --pid-file, default DIR/data/mosquitto.pid),
        and proves the result with real TLS handshakes: the revoked canary credential must be refused and
        the good one accepted. Exit status 0 only when proven; 1 when anything failed, with the reason.
        --crl deploys a CRL signed elsewhere (by an offline copy of the issuing CA) instead of the current one.
        --home defaults to the CA home recorded by 'broker init'.
        """,
    run: { arguments in
        let homeOption = try arguments.option("--home")
        let passphrase = try CASupport.passphrase(&arguments)
        let json = arguments.flag("--json")
        guard let folder = try arguments.option("--dir") else { throw UsageError("missing --dir DIR") }
        let pidFile = try arguments.option("--pid-file")
        let crlFile = try arguments.option("--crl")
        try arguments.finish()

        let layout = BrokerLayout(folder: folder)
        let home = try homeOption.map(CAHome.init(path:)) ?? recordedHome(layout)
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        let report = try BrokerSync(layout: layout, authority: authority).run(crlFile: crlFile, pidFile: pidFile)
        if json {
            try CASupport.printJSON(BrokerReportJSON(report, layout: layout))
        } else {
            printSyncReport(report)
        }
        return syncStatus(report, layout: layout)
    })

/// Prints a sync's outcome: what was deployed and what the canaries showed. The exporter's warnings are
/// counted only; 'acl export' prints them in full.
func printSyncReport(_ report: BrokerSync.Report) {
    if !report.warnings.isEmpty {
        writeStandardError("fleetctl: note: the ACL export has \(report.warnings.count) warning(s); "
            + "'fleetctl acl export --format mosquitto' shows them\n")
    }
    print(
        "deployed CRL #\(report.crlNumber ?? 0) (\(report.revokedCertificates) revoked, next update "
            + "\(CASupport.text(report.crlNextUpdate))) and the ACL (\(report.aclSharedRules) shared rules, "
            + "\(report.aclUserBlocks) user blocks); broker reloaded")
    print(
        "proof: revoked canary \(report.revokedCanary?.description ?? "not tried"), good canary "
            + "\(report.goodCanary?.description ?? "not tried")")
}

/// 0 when the sync was proven; else says so on stderr and returns 1.
func syncStatus(_ report: BrokerSync.Report, layout: BrokerLayout) -> Int32 {
    guard report.proven else {
        let undone = report.rolledBack ? " The previous CRL and ACL were put back and the broker reloaded." : ""
        writeStandardError(
            "fleetctl: the broker did not prove the new state: the revoked canary must be refused "
                + "and the good one accepted; check the broker's log (\(layout.logPath)).\(undone)\n")
        return 1
    }
    return 0
}

/// The JSON form of a sync or init report.
struct BrokerReportJSON: Encodable {
    let folder: String
    let crlNumber: Int64?
    let crlNextUpdate: Date
    let revokedCertificates: Int
    let aclUserBlocks: Int
    let aclSharedRules: Int
    let warnings: [String]
    let reloaded: Bool
    let rolledBack: Bool
    let revokedCanary: String?
    let goodCanary: String?
    let proven: Bool

    init(_ report: BrokerSync.Report, layout: BrokerLayout) {
        folder = layout.folder
        crlNumber = report.crlNumber
        crlNextUpdate = report.crlNextUpdate
        revokedCertificates = report.revokedCertificates
        aclUserBlocks = report.aclUserBlocks
        aclSharedRules = report.aclSharedRules
        warnings = report.warnings
        reloaded = report.reloaded
        rolledBack = report.rolledBack
        revokedCanary = report.revokedCanary?.description
        goodCanary = report.goodCanary?.description
        proven = report.proven
    }
}

private func defaultPolicies(_ home: CAHome) -> String {
    let inHome = home.path + "/policies"
    return FileManager.default.fileExists(atPath: inHome) ? inHome : "policies"
}

private func recordedHome(_ layout: BrokerLayout) throws -> CAHome {
    guard let data = FileManager.default.contents(atPath: layout.recordPath),
        let record = try? JSONDecoder().decode(BrokerRecord.self, from: data)
    else {
        throw UsageError(
            "'\(layout.folder)' is not a broker folder (no readable broker.json); "
                + "run 'fleetctl broker init --dir \(layout.folder)' first")
    }
    return CAHome(path: record.home)
}

private func isIPAddress(_ text: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
}
