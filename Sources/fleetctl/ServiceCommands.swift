import ArgumentParsing
import FleetCA
import Foundation

/// `fleetctl service`: service identities (back-end principals with client certificates).
let serviceCommand = Command(
    name: "service",
    summary: "add and list service identities (back-end clients with CA certificates)",
    subcommands: [serviceAddCommand, serviceListCommand]
)

let serviceAddCommand = Command(
    name: "add",
    summary: "add a service identity and write its certificate and key",
    help: """
        Usage: fleetctl service add NAME --out DIR [--csr FILE] [--validity D]
                                    [--home DIR] [--passphrase-file F] [--json]

        Issues a clientAuth certificate with CN NAME and SAN URI urn:fleet:service:NAME, records it in
        the inventory (revocable with 'fleetctl revoke NAME'), and writes cert.pem, chain.pem, root.pem and
        key.pem (0600, unless --csr gives the service's own request) into DIR. NAME follows the device id
        rules.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    guard let out = try arguments.option("--out") else { throw UsageError("missing --out DIR") }
    let csrPath = try arguments.option("--csr")
    let validity = try CASupport.duration(&arguments, "--validity")
    let json = arguments.flag("--json")
    let name = try arguments.positional("service NAME")
    try arguments.finish()

    try CommandLineValues.identity(name, as: "service name")
    let request = try csrPath.map(CASupport.readRequest)
    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    let credential = try CASupport.issue(into: out, replacing: false) {
        try authority.addService(name: name, request: request, validitySeconds: validity)
    }
    try ServiceBundle.write(credential, authority: authority, to: out)
    if json {
        try CASupport.printJSON(IssuedOutput(credential, bundle: out))
    } else {
        print(
            "added service \(name): serial \(credential.record.serial), valid until "
                + "\(CASupport.text(credential.record.notAfter)), files in \(out)")
        print(brokerNote)
    }
    return 0
}

let serviceListCommand = Command(
    name: "list",
    summary: "list service identities",
    help: "Usage: fleetctl service list [--home DIR] [--json]"
) { arguments in
    let home = try CASupport.home(&arguments)
    let json = arguments.flag("--json")
    try arguments.finish()
    let authority = try CertificateAuthority.open(home: home)
    let services = try authority.services()
    if json {
        try CASupport.printJSON(
            services.map {
                [
                    "name": $0.name, "state": $0.state?.rawValue ?? "none",
                    "serial": $0.certificates.first?.serial ?? "",
                ]
            })
    } else {
        print(
            CASupport.table(
                ["NAME", "STATE", "SERIAL"],
                services.map {
                    [$0.name, $0.state?.rawValue ?? "none", $0.certificates.first?.serial ?? ""]
                }))
    }
    return 0
}
