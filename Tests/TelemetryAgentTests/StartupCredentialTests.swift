import Foundation
import TelemetryAgent
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `fleet-agent run` and `fleetctl ingest` refuse credentials that can never connect, naming the file or
/// value, instead of retrying them forever; a good bundle still starts.
@Suite struct StartupCredentialTests {
    /// Runs `fleet-agent run` on `bundle`'s configuration after `edit`, bounded by `timeout` so that an agent
    /// that retries instead of exiting fails the test rather than hanging it.
    private func runAgent(_ bundle: DeviceBundle, _ edit: (String) -> String) throws -> CommandResult {
        let text = try String(contentsOfFile: bundle.configPath, encoding: .utf8)
        try edit(text).write(toFile: bundle.configPath, atomically: true, encoding: .utf8)
        return try runCommand("timeout", ["20", builtProduct("fleet-agent"), "run", "--config", bundle.configPath])
    }

    @Test func agentRefusesAMissingCertificateFile() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "sensor-01", broker: broker)
        let result = try runAgent(bundle) { $0.replacingOccurrences(of: "\"cert.pem\"", with: "\"nope.pem\"") }
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("nope.pem"), "\(result)")
        #expect(result.standardError.contains("No such file"), "\(result)")
    }

    @Test func agentRefusesAKeySettingThatNamesTheCertificate() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "sensor-01", broker: broker)
        let result = try runAgent(bundle) {
            $0.replacingOccurrences(of: "\"key\": \"key.pem\"", with: "\"key\": \"cert.pem\"")
        }
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("cert.pem' holds no readable private key"), "\(result)")
        #expect(!result.standardError.contains("PRIVATE KEY"), "\(result)")
    }

    @Test func agentRefusesACASettingThatNamesTheChain() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "sensor-01", broker: broker)
        let result = try runAgent(bundle) { $0.replacingOccurrences(of: "\"root.pem\"", with: "\"chain.pem\"") }
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("chain.pem' (tls.ca) holds no self-signed root"), "\(result)")
    }

    @Test func agentRefusesADeviceThatIsNotTheCertificatesName() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "sensor-01", broker: broker)
        let result = try runAgent(bundle) {
            $0.replacingOccurrences(of: "\"device\": \"sensor-01\"", with: "\"device\": \"sensor-02\"")
        }
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("is for 'sensor-01', not for the configured device 'sensor-02'"))
    }

    @Test func agentWithAGoodBundleStaysUpUntilSIGTERM() throws {
        let broker = try DeliveryBroker()
        let bundle = try DeviceBundle(device: "sensor-01", broker: broker)
        let output = bundle.directory.file("agent.log")
        let agent = try SpawnedProcess(builtProduct("fleet-agent"), ["run", "--config", bundle.configPath],
            outputPath: output)
        defer { agent.signal(SIGKILL) }
        // Its subscription shows the agent has seen CONNACK (a stop before that races in MQTTClient.disconnect).
        #expect(
            waitUntil(timeout: 20) { broker.broker.log.contains("sensor-01 1 fleet/sensor-01/command") },
            "\(broker.broker.log)")
        #expect(agent.isRunning)
        agent.signal(SIGTERM)
        let exited = agent.waitForExit(timeout: 20)
        let log = try String(contentsOfFile: output, encoding: .utf8)
        #expect(exited, "\(log)")
        #expect(log.contains("stopping on signal"), "\(log)")
    }

    @Test func ingestRefusesAMissingCertificateAndAKeyOfAnotherCertificate() throws {
        let broker = try DeliveryBroker(start: false)
        let service = try broker.pki.service("ingest")
        let other = try broker.pki.service("watcher")
        let scratch = try TemporaryDirectory()
        func ingest(cert: String, key: String) throws -> CommandResult {
            try runCommand("timeout", [
                "20", builtProduct("fleetctl"), "ingest", "--db", scratch.file("ingest.db"), "--broker",
                "127.0.0.1:\(broker.port)", "--cert", cert, "--key", key, "--ca", service.ca,
            ])
        }
        let missing = try ingest(cert: scratch.file("nope.pem"), key: service.key)
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.standardError.contains("nope.pem"), "\(missing)")
        #expect(missing.standardError.contains("No such file"), "\(missing)")

        let mismatched = try ingest(cert: service.fullChain, key: other.key)
        #expect(mismatched.status == 1, "\(mismatched)")
        #expect(mismatched.standardError.contains("does not belong to the certificate"), "\(mismatched)")
    }
}

/// An expired certificate is reported, not refused: the operator may renew it while records are buffered.
@Suite struct ExpiredCredentialCheckTests {
    @Test func expiredCertificateIsAWarningWithoutRecoveryAndNothingWithIt() throws {
        let broker = try DeliveryBroker(start: false)
        let bundle = try DeviceBundle(device: "sensor-01", broker: broker)
        var configuration = try bundle.configuration()
        let (pair, problem) = CredentialStore(configuration: configuration).current()
        let pastExpiry = try #require(pair).notAfter.addingTimeInterval(60)

        let warnings = try CredentialCheck.verify(configuration, pair: pair, problem: problem, now: pastExpiry)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("expired") == true, "\(warnings)")

        let recovery = try broker.pki.service("recovery")
        configuration.tls.recoveryCert = recovery.certificate
        configuration.tls.recoveryKey = recovery.key
        #expect(try CredentialCheck.verify(configuration, pair: pair, problem: problem, now: pastExpiry).isEmpty)
    }
}
