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
               fleetctl rotate ID --online [--wait D] [--home DIR] [--json]

        Issues a new certificate for device ID and rewrites its bundle in DIR (cert.pem, chain.pem,
        root.pem, agent.json, and key.pem with --generate-key). The device's active certificates become
        superseded (they stay valid until they expire; revoke them to stop them at once).

        With --online, nothing is issued here: a rotation order is recorded in the inventory and the running
        'fleetctl serve' sends it on fleet/ID/command, where the device's agent renews at once (a new key,
        through the renewal protocol). The command waits up to --wait (default 10s) for serve to send it;
        exit status 1 when it did not (the order stays pending and goes out when serve runs).
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    if arguments.flag("--online") { return try rotateOnline(&arguments, home: home) }
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

/// `rotate ID --online`: leaves a rotation order for `fleetctl serve` and waits until it went out.
private func rotateOnline(_ arguments: inout Arguments, home: CAHome) throws -> Int32 {
    let wait = try CASupport.duration(&arguments, "--wait") ?? 10
    let json = arguments.flag("--json")
    let id = try arguments.positional("device ID")
    try arguments.finish()
    try CommandLineValues.identity(id)
    let authority = try CertificateAuthority.open(home: home)
    guard let device = try authority.device(id: id) else {
        throw FleetCAError(.notFound, "no device '\(id)' in the inventory")
    }
    guard device.state == .active else {
        let state = device.state?.rawValue ?? "without a certificate"
        throw FleetCAError(.invalidInput, "device '\(id)' is \(state); a rotation order needs an active device "
            + "(provision it again with 'fleetctl rotate \(id) --csr FILE --out DIR')")
    }
    let order = try authority.orderRotation(deviceID: id)
    let deadline = Date().addingTimeInterval(TimeInterval(wait))
    var sent: Date?
    while sent == nil && Date() < deadline {
        sent = try authority.rotationOrder(id: order)?.sentAt
        if sent == nil { usleep(100_000) }
    }
    if json {
        try CASupport.printJSON(["device": id, "order": String(order), "sent": sent.map(CASupport.text) ?? ""])
    } else if sent != nil {
        print("rotation order \(order) sent to \(id) on fleet/\(id)/command")
    } else {
        writeStandardError(
            "fleetctl: rotation order \(order) for \(id) was not sent within \(wait) s; is 'fleetctl serve' "
                + "running? The order stays pending and goes out when it runs.\n")
    }
    return sent == nil ? 1 : 0
}
