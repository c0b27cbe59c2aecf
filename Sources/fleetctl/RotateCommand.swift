import ArgumentParsing
import FleetCA
import Foundation

/// `fleetctl rotate`: a new certificate for a known device; the previous one becomes superseded.
let rotateCommand = Command(
    name: "rotate",
    summary: "issue a new certificate for a known device; the previous one becomes superseded",
    help: """
        Usage: fleetctl rotate ID (--csr FILE | --generate-key) --out DIR [--validity D]
                               [--home DIR] [--passphrase-file F] [--json]

        Issues a new certificate for device ID and rewrites its bundle in DIR (cert.pem, chain.pem,
        root.pem, agent.json, and key.pem with --generate-key). The device's active certificates become
        superseded (they stay valid until they expire; revoke them to stop them at once).
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    guard let out = try arguments.option("--out") else { throw UsageError("missing --out DIR") }
    let csrPath = try arguments.option("--csr")
    let generate = arguments.flag("--generate-key")
    let validity = try CASupport.duration(&arguments, "--validity")
    let json = arguments.flag("--json")
    let id = try arguments.positional("device ID")
    try arguments.finish()
    guard (csrPath != nil) != generate else { throw UsageError("give exactly one of --csr FILE and --generate-key") }

    try CommandLineValues.identity(id)
    let request = try csrPath.map(CASupport.readRequest)
    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    let credential = try CASupport.issue(into: out, replacing: true) {
        try authority.rotate(deviceID: id, request: request, validitySeconds: validity)
    }
    try DeviceBundle.write(credential, deviceID: id, authority: authority, to: out, replacing: true)
    if json {
        try CASupport.printJSON(IssuedOutput(credential, bundle: out))
    } else {
        print(
            "rotated \(id): new serial \(credential.record.serial), valid until "
                + CASupport.text(credential.record.notAfter)
        )
    }
    return 0
}
