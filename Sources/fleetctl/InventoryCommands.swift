import ArgumentParsing
import FleetCA
import Foundation
import PKI

/// `fleetctl list`: the inventory's certificates, filtered.
let listCommand = Command(
    name: "list",
    summary: "list devices' and services' certificates from the inventory",
    help: """
        Usage: fleetctl list [--group G] [--state active|superseded|revoked|expired] [--expiring-within D]
                             [--home DIR] [--json]

        One line per certificate, newest first. Without --state every state but superseded is shown;
        --expiring-within D shows active certificates whose notAfter falls within D from now.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    var filter = CertificateFilter()
    filter.group = try arguments.option("--group")
    if let group = filter.group { try CommandLineValues.identity(group, as: "group") }
    if let state = try arguments.option("--state") {
        guard let value = CertificateState(rawValue: state) else {
            throw UsageError("'\(state)' is not a state; use active, superseded, revoked or expired")
        }
        filter.state = value
    }
    filter.expiringWithinSeconds = try CASupport.duration(&arguments, "--expiring-within")
    let json = arguments.flag("--json")
    try arguments.finish()

    let authority = try CertificateAuthority.open(home: home)
    let records = try authority.certificates(matching: filter)
    if json {
        try CASupport.printJSON(records.map(CertificateOutput.init))
    } else if records.isEmpty {
        print("no certificates match")
    } else {
        print(
            CASupport.table(
                ["SUBJECT", "KIND", "STATE", "SERIAL", "NOT AFTER"],
                records.map {
                    [$0.subject, $0.subjectKind.rawValue, $0.state.rawValue, $0.serial, CASupport.text($0.notAfter)]
                }))
    }
    return 0
}

/// `fleetctl show`: one device (or service) with its groups, attributes and certificates.
let showCommand = Command(
    name: "show",
    summary: "show one device or service with its groups, attributes and certificates",
    help: """
        Usage: fleetctl show ID [--home DIR] [--json]
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let json = arguments.flag("--json")
    let id = try arguments.positional("device ID")
    try arguments.finish()
    // A recovery identity (recovery~ID) is looked up too; what follows its prefix obeys the id rules.
    try CommandLineValues.identity(
        CertificateAuthority.device(fromTopicLevel: id).device, as: "device id or service name")

    let authority = try CertificateAuthority.open(home: home)
    if let device = try authority.device(id: id) {
        if json {
            try CASupport.printJSON(DeviceOutput(device))
            return 0
        }
        print("device      \(device.id)")
        print("state       \(device.state?.rawValue ?? "none")")
        print("groups      \(device.groups.joined(separator: ", "))")
        let attributes = device.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        print("attributes  \(attributes.joined(separator: ", "))")
        print("created     \(CASupport.text(device.createdAt))")
        printCertificates(device.certificates)
    } else if let service = try authority.service(name: id) {
        if json {
            try CASupport.printJSON(["service": service.name, "state": service.state?.rawValue ?? "none"])
            return 0
        }
        print("service     \(service.name)")
        print("state       \(service.state?.rawValue ?? "none")")
        printCertificates(service.certificates)
    } else {
        throw FleetCAError(.notFound, "no device or service '\(id)' in the inventory")
    }
    return 0
}

private func printCertificates(_ certificates: [CertificateRecord]) {
    print("certificates:")
    print(
        CASupport.table(
            ["  SERIAL", "STATE", "NOT BEFORE", "NOT AFTER", "KEY"],
            certificates.map {
                [
                    "  " + $0.serial, $0.state.rawValue + ($0.revocationReason.map { " (\($0.rawValue))" } ?? ""),
                    CASupport.text($0.notBefore), CASupport.text($0.notAfter), $0.keyType,
                ]
            }))
}

/// A certificate row as `--json` prints it (without the PEM).
struct CertificateOutput: Encodable {
    let subject: String
    let kind: String
    let serial: String
    let state: String
    let notBefore: Date
    let notAfter: Date
    let fingerprintSHA256: String
    let keyType: String
    let keyGeneratedByCA: Bool
    let revokedAt: Date?
    let revocationReason: String?

    init(_ record: CertificateRecord) {
        subject = record.subject
        kind = record.subjectKind.rawValue
        serial = record.serial
        state = record.state.rawValue
        notBefore = record.notBefore
        notAfter = record.notAfter
        fingerprintSHA256 = record.fingerprintSHA256
        keyType = record.keyType
        keyGeneratedByCA = record.keyGeneratedByCA
        revokedAt = record.revokedAt
        revocationReason = record.revocationReason?.rawValue
    }
}

/// A device as `show --json` prints it.
struct DeviceOutput: Encodable {
    let id: String
    let state: String?
    let groups: [String]
    let attributes: [String: String]
    let createdAt: Date
    let certificates: [CertificateOutput]

    init(_ device: DeviceRecord) {
        id = device.id
        state = device.state?.rawValue
        groups = device.groups
        attributes = device.attributes
        createdAt = device.createdAt
        certificates = device.certificates.map(CertificateOutput.init)
    }
}
