import ArgumentParsing
import FleetCA
import Foundation
import PKI

/// `fleetctl crl`: the current CRL, re-signed first when past half its lifetime.
let crlCommand = Command(
    name: "crl",
    summary: "print or write the current CRL, re-signing it first when it is past half its lifetime",
    help: """
        Usage: fleetctl crl [--out FILE] [--home DIR] [--passphrase-file F] [--json]

        Prints the CRL in PEM (or writes it to FILE). The CRL is re-signed with the next CRL number when
        more than half of its lifetime has passed, whether or not anything was revoked; certificates past
        their notAfter leave it. --json prints its number, dates and entries instead.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    let out = try arguments.option("--out")
    let json = arguments.flag("--json")
    try arguments.finish()

    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    let list = try authority.currentCRL()
    if let out {
        do { try list.pem.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            throw FleetCAError(.failure, "cannot write the CRL to '\(out)': \(error.localizedDescription)")
        }
    }
    if json {
        struct Output: Encodable {
            let number: Int64?
            let issuer: String
            let thisUpdate: Date
            let nextUpdate: Date
            let revokedSerials: [String]
        }
        try CASupport.printJSON(
            Output(
                number: list.number, issuer: list.issuer, thisUpdate: list.thisUpdate,
                nextUpdate: list.nextUpdate, revokedSerials: list.revokedSerials))
    } else if out == nil {
        print(try list.pem, terminator: "")
    } else {
        print(
            "wrote CRL number \(list.number ?? 0) (\(list.revokedSerials.count) entries, next update "
                + "\(CASupport.text(list.nextUpdate))) to \(out ?? "")")
    }
    return 0
}
