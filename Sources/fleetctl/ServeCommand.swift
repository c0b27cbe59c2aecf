import ArgumentParsing
import FleetCA
import Foundation
import MQTT
import Provisioning

#if canImport(Glibc)
    import Glibc
#endif

/// `fleetctl serve`: the CA's online service (renewal over MQTT, rotation orders, CRL and broker sync).
let serveCommand = Command(
    name: "serve",
    summary: "run the CA's online service: renewals over MQTT, rotation orders, CRL re-signing, broker sync",
    help: """
        Usage: fleetctl serve (--broker HOST:PORT | --broker-dir DIR) [--broker-dir DIR] [--credentials DIR]
                              [--sync-interval D] [--crl-check D] [--home DIR] [--passphrase-file F]

        Connects to the broker as the service identity 'fleet-ca' and answers renewal requests on
        fleet/+/pki/request with MQTT v5 request/response (docs/renewal.md). Every decision is audited.
        It also sends the rotation orders left by 'fleetctl rotate ID --online' on fleet/ID/command and
        re-signs the CRL before it is due (checked every --crl-check, default 60s).

        --credentials DIR   cert.pem, key.pem and root.pem of the 'fleet-ca' identity. Without it,
                            HOME/services/fleet-ca is used, and made (a new service certificate) on the
                            first run; the broker's ACL must then learn of it (--broker-dir does that).
        --broker-dir DIR    a folder from 'fleetctl broker init': the broker address defaults to it, and
                            'broker sync' runs at start and every --sync-interval (default 5m), pushing the
                            re-signed CRL and the ACL and proving them with handshakes.

        SIGTERM or SIGINT stops it cleanly: the request in hand is answered, the connection closed.
        """
) { arguments in
    let home = try CASupport.home(&arguments)
    let passphrase = try CASupport.passphrase(&arguments)
    let brokerText = try arguments.option("--broker")
    let brokerFolder = try arguments.option("--broker-dir")
    let credentialsFolder = try arguments.option("--credentials")
    let syncInterval = try CASupport.duration(&arguments, "--sync-interval") ?? 300
    let crlCheck = try CASupport.duration(&arguments, "--crl-check") ?? 60
    try arguments.finish()

    var host = "127.0.0.1"
    var port = 0
    if let brokerText {
        guard let colon = brokerText.lastIndex(of: ":"),
            let number = Int(brokerText[brokerText.index(after: colon)...]),
            (1...65535).contains(number), colon != brokerText.startIndex
        else { throw UsageError("'\(brokerText)' is not HOST:PORT for --broker") }
        host = String(brokerText[..<colon])
        port = number
    } else if let brokerFolder {
        let layout = BrokerLayout(folder: brokerFolder)
        guard let data = FileManager.default.contents(atPath: layout.recordPath),
            let record = try? JSONDecoder().decode(BrokerRecord.self, from: data)
        else { throw UsageError("'\(brokerFolder)' is not a broker folder (no readable broker.json)") }
        host = record.bindAddress == "0.0.0.0" ? "127.0.0.1" : record.bindAddress
        port = Int(record.port)
    } else {
        throw UsageError("give --broker HOST:PORT or --broker-dir DIR")
    }

    // Block the stop signals in every thread before any starts; one thread waits for them with sigwait.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    pthread_sigmask(SIG_BLOCK, &signals, nil)

    let authority = try CertificateAuthority.open(home: home, passphrase: passphrase)
    let identity = try ServiceIdentity.prepare(authority: authority, folder: credentialsFolder)
    if identity.created {
        writeStandardError("fleetctl: made the service identity '\(ServiceIdentity.name)'\n")
    }
    let service = RenewalService(
        home: home, passphrase: passphrase,
        options: RenewalService.Options(
            host: host, port: port, credentials: identity.credentials, brokerFolder: brokerFolder,
            syncInterval: Double(syncInterval), crlCheckInterval: Double(crlCheck)),
        log: { writeStandardError("fleetctl: \($0)\n") })
    let waiter = Thread {
        var received: Int32 = 0
        var waited = sigset_t()
        sigemptyset(&waited)
        sigaddset(&waited, SIGTERM)
        sigaddset(&waited, SIGINT)
        sigwait(&waited, &received)
        writeStandardError("fleetctl: serve stopping on signal \(received)\n")
        service.stop()
    }
    waiter.start()
    try service.run()
    return 0
}
