import ArgumentParsing
import FleetCA
import Foundation
import PKI

/// `fleetctl revoke`: revokes a device's (or service's) certificates, or one certificate, and re-signs the CRL.
let revokeCommand = Command(
    name: "revoke",
    summary: "revoke a device's certificates (or one by serial) and regenerate the CRL",
    help: """
        Usage: fleetctl revoke (ID | --serial HEX | --cert FILE) [--reason REASON]
                               [--home DIR] [--passphrase-file F] [--json]

        Revokes every unexpired certificate of device (or service) ID, or the one certificate with
        serial HEX, or the certificate in FILE (it must have been issued by this CA), records the reason
        and re-signs the CRL (crl.pem). REASON is one of unspecified (default), keyCompromise,
        affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    let serialText = try arguments.option("--serial")
    let certificatePath = try arguments.option("--cert")
    let reasonText = try arguments.option("--reason") ?? "unspecified"
    let json = arguments.flag("--json")
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

    var revoked: [CertificateRecord]
    if let id {
        try IdentityName.validate(id)
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        revoked = try authority.revoke(id: id, reason: reason)
    } else if let serialText {
        let serial: SerialNumber
        do { serial = try SerialNumber(hex: serialText) } catch let error as PKIError {
            throw FleetCAError(.invalidInput, error.message)
        }
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        revoked = [try authority.revoke(serial: serial, reason: reason)]
    } else {
        let path = certificatePath ?? ""
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UsageError("cannot read the certificate file '\(path)'")
        }
        let certificate: Certificate
        do { certificate = try Certificate(pem: text) } catch let error as PKIError {
            throw FleetCAError(.invalidInput, "'\(path)' is not a PEM certificate: \(error.message)")
        }
        let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
        revoked = [try authority.revoke(certificate: certificate, reason: reason)]
    }

    if json {
        try CASupport.printJSON(
            revoked.map { ["subject": $0.subject, "serial": $0.serial, "reason": reason.rawValue] })
    } else {
        for record in revoked {
            print(
                "revoked \(record.subjectKind.rawValue) \(record.subject) serial \(record.serial) (\(reason.rawValue))")
        }
        print("the CRL was re-signed: \(home.crlPath)")
    }
    return 0
}
