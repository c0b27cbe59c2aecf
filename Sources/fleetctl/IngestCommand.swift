import ArgumentParsing
import MQTT
import PKI
import TelemetryIngest

#if canImport(Glibc)
    import Glibc
#endif

/// `fleetctl ingest`: the reference consumer, and `fleetctl ingest report`.
enum IngestCommand {
    static let command = Command(
        name: "ingest",
        summary: "receive telemetry into SQLite to prove delivery; 'ingest report' summarises it",
        help: """
            Usage: fleetctl ingest --db FILE --broker HOST:PORT --cert FILE --key FILE --ca FILE
                                   [--client-id ID] [--stream NAME:QOS]... [--session-expiry DURATION]
                   fleetctl ingest report --db FILE [--json]

            Connects with a service certificate (--cert holds the certificate followed by its issuing CA),
            keeps a persistent session (clean start off; session expiry default 1d), subscribes to
            fleet/+/telemetry/NAME at each given stream's QoS (default: fleet/+/telemetry/# at QoS 2), and
            stores each message keyed by (device, boot epoch, sequence): duplicates are dropped and counted.
            Runs until SIGTERM or SIGINT. --client-id defaults to 'ingest'; with use_username_as_clientid the
            broker uses the certificate's CN.

            After each commit it confirms what it stored with delivery receipts: per device, QoS 1, on
            fleet/DEVICE/receipt, {"epoch": E, "ranges": [[first, last], ...]}, batched every 200 ms or 200
            records of one device, duplicates included (docs/receipts.md). Agents with "confirm": "consumer"
            delete a record only when its receipt comes, so this identity needs publish rights on
            fleet/+/receipt (policies/services.json grants them to telemetry-consumer).

            The broker must not drop messages for a slow consumer: set max_queued_messages 0 (or a bound
            above any backlog) in mosquitto.conf, since the default 1000 drops QoS 1/2 messages silently.

            'report' prints per device: received, duplicates dropped, and missing sequence ranges.
            """,
        run: run)

    static func run(_ arguments: inout Arguments) throws -> Int32 {
        // Options first: a positional read before them would take an option's value for a command word.
        let database = try arguments.option("--db")
        let json = arguments.flag("--json")
        let broker = try arguments.option("--broker")
        let cert = try arguments.option("--cert")
        let key = try arguments.option("--key")
        let ca = try arguments.option("--ca")
        let clientID = try arguments.option("--client-id") ?? "ingest"
        let expiry = try arguments.option("--session-expiry") { DurationText.seconds($0) } ?? 86_400
        let streams = try arguments.options("--stream")
        if let word = arguments.nextPositional() {
            guard word == "report" else {
                throw UsageError("unknown ingest command '\(word)'; see 'fleetctl ingest --help'")
            }
            try arguments.finish()
            guard broker == nil, cert == nil, key == nil, ca == nil, streams.isEmpty else {
                throw UsageError("'ingest report' takes only --db FILE and --json")
            }
            guard let database else { throw UsageError("missing --db FILE") }
            // Opening a missing file would create an empty database and report nothing as if all were well.
            guard access(database, R_OK) == 0 else {
                let reason = String(cString: strerror(errno))
                throw CommandFailure("cannot read the ingest database '\(database)': \(reason)")
            }
            return try report(database: database, json: json)
        }
        guard let database else { throw UsageError("missing --db FILE") }
        guard let broker else { throw UsageError("missing --broker HOST:PORT") }
        guard let colon = broker.lastIndex(of: ":"), let port = Int(broker[broker.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw UsageError("'\(broker)' is not HOST:PORT") }
        guard let cert else { throw UsageError("missing --cert FILE") }
        guard let key else { throw UsageError("missing --key FILE") }
        guard let ca else { throw UsageError("missing --ca FILE") }
        var subscriptions: [(filter: String, qos: Int)] = []
        for text in streams {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let qos = Int(parts[1]), (0...2).contains(qos), !parts[0].contains("/"),
                !parts[0].contains("+"), !parts[0].contains("#")
            else { throw UsageError("'\(text)' is not NAME:QOS (QOS 0, 1 or 2)") }
            subscriptions.append(("fleet/+/telemetry/\(parts[0])", qos))
        }
        try arguments.finish()
        // A file that cannot work would otherwise be retried forever with libmosquitto's vague TLS error.
        try checkCredentials(cert: cert, key: key, ca: ca)

        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let options = TelemetryIngest.Options(
            host: String(broker[..<colon]), port: port, clientID: clientID,
            credentials: TLSCredentials(caFile: ca, certificateFile: cert, keyFile: key),
            subscriptions: subscriptions.isEmpty ? [("fleet/+/telemetry/#", 2)] : subscriptions,
            sessionExpiry: UInt32(clamping: expiry))
        let ingest = try TelemetryIngest(options: options, databasePath: database) {
            writeStandardError("fleetctl: \($0)\n")
        }
        ingest.start()
        var received: Int32 = 0
        sigwait(&signals, &received)
        ingest.stop()
        let counts = ingest.counts
        writeStandardError("fleetctl: ingest stopped stored=\(counts.stored) duplicates=\(counts.duplicates)\n")
        return 0
    }

    /// Throws naming the file when `cert`, `key` or `ca` is unreadable, holds nothing usable, or when the key
    /// is not the certificate's.
    static func checkCredentials(cert: String, key: String, ca: String) throws {
        func text(_ path: String, _ option: String) throws -> String {
            try InputFile.text(path, what: "the \(option) file")
        }
        let certificateText = try text(cert, "--cert")
        let keyText = try text(key, "--key")
        let caText = try text(ca, "--ca")
        guard let certificate = try? Certificate.all(pem: certificateText).first else {
            throw CommandFailure("the --cert file '\(cert)' holds no PEM certificate")
        }
        guard let privateKey = try? PrivateKey(pem: keyText) else {
            throw CommandFailure("the --key file '\(key)' holds no readable private key")
        }
        guard privateKey.matches(certificate) else {
            throw CommandFailure("the key '\(key)' does not belong to the certificate '\(cert)'; pass the pair's key")
        }
        guard (try? Certificate.all(pem: caText))?.isEmpty == false else {
            throw CommandFailure("the --ca file '\(ca)' holds no PEM certificate")
        }
    }

    static func report(database: String, json: Bool) throws -> Int32 {
        let reports = try IngestStore(path: database).report()
        if json {
            let items = reports.map { report in
                let missing = report.missing.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",")
                return "{\"device\":\"\(report.device)\",\"received\":\(report.received),"
                    + "\"duplicates\":\(report.duplicates),\"unkeyed\":\(report.unkeyed),\"epochs\":\(report.epochs),"
                    + "\"firstSeq\":\(report.firstSequence.map(String.init) ?? "null"),"
                    + "\"lastSeq\":\(report.lastSequence.map(String.init) ?? "null"),"
                    + "\"missingCount\":\(report.missingCount),\"missing\":[\(missing)]}"
            }
            print("[" + items.joined(separator: ",") + "]")
            return 0
        }
        print("device\treceived\tduplicates\tmissing\tranges")
        for report in reports {
            let ranges = report.missing.map {
                $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)"
            }
            print(
                "\(report.device)\t\(report.received)\t\(report.duplicates)\t\(report.missingCount)\t"
                    + (ranges.isEmpty ? "-" : ranges.joined(separator: ",")))
        }
        return 0
    }
}
