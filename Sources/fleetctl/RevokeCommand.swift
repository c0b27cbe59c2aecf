import ArgumentParsing
import FleetCA
import Foundation
import PKI
import Provisioning

/// `fleetctl revoke`: revokes a device's (or service's) certificates, or one certificate, and re-signs the CRL.
let revokeCommand = Command(
    name: "revoke",
    summary: "revoke a device's certificates (or one by serial) and regenerate the CRL",
    help: """
        Usage: fleetctl revoke (ID | --serial HEX | --cert FILE) [--reason REASON]
                               [--broker-dir DIR [--pid-file F]] [--home DIR] [--passphrase-file F] [--json]

        Revokes every unexpired certificate of device (or service) ID, or the one certificate with
        serial HEX, or the certificate in FILE (it must have been issued by this CA), records the reason
        and re-signs the CRL (crl.pem). REASON is one of unspecified (default), keyCompromise,
        affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn.

        With --broker-dir, the revocation is then pushed to that broker exactly as 'fleetctl broker sync'
        does, and proven with real handshakes: the revoked device's rights are removed from the ACL (its open
        session can do nothing more) and the CRL refuses it a new connection. Exit status 1 when that proof
        fails, even though the revocation itself is recorded.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    let serialText = try arguments.option("--serial")
    let certificatePath = try arguments.option("--cert")
    let reasonText = try arguments.option("--reason") ?? "unspecified"
    let json = arguments.flag("--json")
    let brokerFolder = try arguments.option("--broker-dir")
    let pidFile = try arguments.option("--pid-file")
    let id = arguments.nextPositional()
    try arguments.finish()
    guard let reason = RevocationReason(rawValue: reasonText) else {
        throw UsageError(
            "'\(reasonText)' is not a revocation reason; use one of "
                + RevocationReason.allCases.map(\.rawValue).joined(separator: ", "))
    }
    guard [id != nil, serialText != nil, certificatePath != nil].filter({ $0 }).count == 1 else {
        throw UsageError("give exactly one of ID, --serial HEX and --cert FILE")
    }

    if pidFile != nil && brokerFolder == nil { throw UsageError("--pid-file goes with --broker-dir") }

    var revoked: [CertificateRecord]
    let authority: CertificateAuthority
    if let id {
        try CommandLineValues.identity(id)
        authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        revoked = try authority.revoke(id: id, reason: reason)
    } else if let serialText {
        let serial: SerialNumber
        do throws(PKIError) { serial = try SerialNumber(hex: serialText) } catch {
            throw UsageError(error.message)
        }
        authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        revoked = [try authority.revoke(serial: serial, reason: reason)]
    } else {
        let certificate = try CASupport.readCertificate(certificatePath ?? "")
        authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        revoked = [try authority.revoke(certificate: certificate, reason: reason)]
    }

    let revokedJSON = revoked.map { ["subject": $0.subject, "serial": $0.serial, "reason": reason.rawValue] }
    if let brokerFolder {
        let layout = BrokerLayout(folder: brokerFolder)
        let report = try BrokerSync(layout: layout, authority: authority).run(pidFile: pidFile)
        if json {
            try CASupport.printJSON(
                RevocationWithSync(revoked: revokedJSON, broker: BrokerReportJSON(report, layout: layout)))
        } else {
            for record in revoked {
                print(
                    "revoked \(record.subjectKind.rawValue) \(record.subject) serial \(record.serial) "
                        + "(\(reason.rawValue))"
                )
            }
            printSyncReport(report)
        }
        return syncStatus(report, layout: layout)
    }
    if json {
        try CASupport.printJSON(revokedJSON)
    } else {
        for record in revoked {
            print(
                "revoked \(record.subjectKind.rawValue) \(record.subject) serial \(record.serial) (\(reason.rawValue))")
        }
        print("the CRL was re-signed: \(home.crlPath)")
    }
    return 0
}

/// `revoke --broker-dir --json`: what was revoked and what the broker sync proved.
private struct RevocationWithSync: Encodable {
    let revoked: [[String: String]]
    let broker: BrokerReportJSON
}
