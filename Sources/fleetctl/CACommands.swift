import ArgumentParsing
import FleetCA
import Foundation
import PKI

/// `fleetctl ca init`: creates the root, the issuing intermediate and the inventory.
let caCommand = Command(
    name: "ca",
    summary: "create and inspect the certificate authority",
    subcommands: [caInitCommand, caServerCommand]
)

let caInitCommand = Command(
    name: "init",
    summary: "create a root CA, an issuing intermediate and the inventory",
    help: """
        Usage: fleetctl ca init [--home DIR] [--name NAME] [--key-type p256|p384|rsa2048|ed25519]
                                [--root-validity D] [--issuing-validity D] [--device-validity D]
                                [--crl-lifetime D] [--broker-host H] [--broker-port P]
                                [--crl-url URL] [--issuer-url URL]
                                [--passphrase-file F] [--root-key-out FILE] [--json]

        Creates the CA in DIR (default $FLEET_HOME, else ./fleet): root/root.pem and root.key,
        issuing/issuing.pem and issuing.key, inventory.db, crl.pem and config.json. Refuses a folder
        that already holds a CA. Keys and the inventory are mode 0600; with --passphrase-file the keys are
        stored encrypted (AES-256) and every signing command then needs the same --passphrase-file.
        --crl-url and --issuer-url put a CRL distribution point and an AIA caIssuers URL into every
        certificate the issuing CA signs. --root-key-out FILE writes the root key to FILE (to keep it
        offline) and not into the CA home; the CA signs devices and CRLs with the issuing key alone.
        Defaults: name Fleet, p256, root 10y, issuing 5y, devices 90d, CRL lifetime 7d, broker 127.0.0.1:8883.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    var options = CAInitOptions()
    if let name = try arguments.option("--name") { options.name = name }
    if let type = try arguments.option("--key-type") {
        guard let keyType = KeyType(name: type) else {
            throw UsageError("'\(type)' is not a key type; use p256, p384, rsa2048, rsa3072, rsa4096 or ed25519")
        }
        options.keyType = keyType
    }
    if let seconds = try CASupport.duration(&arguments, "--root-validity") { options.rootValiditySeconds = seconds }
    if let seconds = try CASupport.duration(&arguments, "--issuing-validity") {
        options.issuingValiditySeconds = seconds
    }
    if let seconds = try CASupport.duration(&arguments, "--device-validity") {
        options.configuration.deviceValiditySeconds = seconds
    }
    if let seconds = try CASupport.duration(&arguments, "--crl-lifetime") {
        options.configuration.crlLifetimeSeconds = seconds
    }
    if let host = try CommandLineValues.host(try arguments.option("--broker-host"), option: "--broker-host") {
        options.configuration.broker.host = host
    }
    if let port = try arguments.option("--broker-port", { Int($0).flatMap { (1...65535).contains($0) ? $0 : nil } }) {
        options.configuration.broker.port = port
    }
    options.passphrase = try CASupport.passphrase(&arguments)
    options.rootKeyExportPath = try arguments.option("--root-key-out")
    options.configuration.crlURL = try CommandLineValues.url(try arguments.option("--crl-url"), option: "--crl-url")
    options.configuration.issuerURL = try CommandLineValues.url(
        try arguments.option("--issuer-url"), option: "--issuer-url")
    let json = arguments.flag("--json")
    try arguments.finish()

    let authority: CertificateAuthority
    do { authority = try CertificateAuthority.create(home: home, options: options) } catch let error as FleetCAError
    where error.kind == .invalidInput {
        throw UsageError(error.message)  // every invalid input of 'ca init' is one of its options
    }
    if json {
        try CASupport.printJSON([
            "home": home.path, "root": try authority.rootCertificate.serialNumber.hex,
            "issuing": try authority.issuingCertificate.serialNumber.hex,
            "rootSubject": authority.rootCertificate.subject, "issuingSubject": authority.issuingCertificate.subject,
        ])
    } else {
        print("created CA '\(authority.configuration.name)' in \(home.path)")
        print(
            "  root     \(authority.rootCertificate.subject) until "
                + CASupport.text(authority.rootCertificate.notAfter)
        )
        print(
            "  issuing  \(authority.issuingCertificate.subject) until "
                + CASupport.text(authority.issuingCertificate.notAfter)
        )
    }
    return 0
}

/// `fleetctl ca server-cert`: a TLS server certificate (for a broker) with a key generated here.
let caServerCommand = Command(
    name: "server-cert",
    summary: "issue a TLS server certificate (serverAuth) for host names and IP addresses",
    help: """
        Usage: fleetctl ca server-cert --out DIR [--host NAME]... [--ip ADDRESS]... [--validity D]
                                       [--home DIR] [--passphrase-file F] [--json]

        Issues a serverAuth certificate with SAN DNS names and IP addresses and a key generated here,
        and writes cert.pem, key.pem (0600), chain.pem and root.pem into DIR.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    guard let out = try arguments.option("--out") else { throw UsageError("missing --out DIR") }
    let hosts = try CommandLineValues.dnsNames(try arguments.options("--host"))
    let addresses = try CommandLineValues.ipAddresses(try arguments.options("--ip"))
    let validity = try CASupport.duration(&arguments, "--validity")
    let json = arguments.flag("--json")
    try arguments.finish()

    guard !hosts.isEmpty || !addresses.isEmpty else {
        throw UsageError("a server certificate needs at least one --host NAME or --ip ADDRESS")
    }

    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    let credential = try CASupport.issue(into: out, replacing: false) {
        try authority.issueServerCertificate(hostNames: hosts, ipAddresses: addresses, validitySeconds: validity)
    }
    try ServiceBundle.write(credential, authority: authority, to: out)
    if json {
        try CASupport.printJSON(IssuedOutput(credential, bundle: out))
    } else {
        print(
            "issued server certificate \(credential.record.serial) for "
                + "\((hosts + addresses).joined(separator: ", ")) into \(out)"
        )
    }
    return 0
}
