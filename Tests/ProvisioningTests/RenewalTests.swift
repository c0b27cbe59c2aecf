import FleetCA
import Foundation
import MQTT
import PKI
import TelemetryAgent
import TelemetryIngest
import TestSupport
import Testing

/// Online renewal end to end: a real Mosquitto from `broker init`, the real `fleetctl serve`, agents wired
/// as `fleet-agent run` wires them.
@Suite(.serialized)
struct RenewalTests {
    @Test func agentPublishingContinuouslyRenewsBeforeExpiryAndLosesNothing() throws {
        let fixture = try RenewalFixture()
        let bundle = try fixture.provision("meter-1", validity: "12s")
        try fixture.start()
        let folder = try TemporaryDirectory("renewal-ingest")
        let ingest = try fixture.ingest(database: folder.file("ingest.db"))
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        let first = try #require(try fixture.device("meter-1")?.activeCertificate)

        let (agent, renewal) = try fixture.agent(bundle)
        agent.start()
        renewal.start()
        var sent = 0
        // Publish all along until the agent renewed and is connected again with the new certificate.
        let renewed = waitUntil(timeout: 30) {
            _ = try? agent.submit(stream: "host", payload: Array("reading \(sent)".utf8))
            sent += 1
            usleep(20_000)
            return renewal.renewals >= 1 && agent.isOnline && agent.connectionCount >= 2
        }
        #expect(renewed, "no renewal: \(renewal.lastReport ?? "-") serve: \(fixture.serveLog)")
        for _ in 0..<50 {
            _ = try? agent.submit(stream: "host", payload: Array("reading \(sent)".utf8))
            sent += 1
        }
        #expect(waitUntil(timeout: 15) { agent.status().backlog == 0 && ingest.counts.stored >= sent })
        ingest.stop()
        let report = try #require(try IngestStore(path: folder.file("ingest.db")).report().first)
        #expect(report.device == "meter-1")
        #expect(report.received == sent)
        #expect(report.missingCount == 0)

        let device = try #require(try fixture.device("meter-1"))
        #expect(device.certificates.first { $0.serial == first.serial }?.state == .superseded)
        let current = try #require(device.activeCertificate)
        #expect(current.serial != first.serial)
        #expect(renewal.currentPair?.serial == current.serial)
        #expect(agent.status().renewal?.contains("renewed") == true)
        #expect(try !fixture.audit("renewal.issue", subject: "meter-1").isEmpty)
        // The confirmation from the new connection reached the CA.
        #expect(waitUntil(timeout: 10) { (try? fixture.audit("renewal.confirm", subject: "meter-1").isEmpty) == false })
    }

    @Test func rotateOnlineReachesAConnectedAgentWhichRenewsAtOnce() throws {
        let fixture = try RenewalFixture()
        let bundle = try fixture.provision("meter-2")
        try fixture.start()
        let (agent, renewal) = try fixture.agent(bundle)
        agent.start()
        renewal.start()
        #expect(waitUntil(timeout: 10) { agent.isOnline })
        // The command subscription is made right after the CONNACK; give it its SUBACK's worth of time.
        usleep(300_000)

        let result = try fixture.fleet.fleetctl(["rotate", "meter-2", "--online"])
        #expect(result.status == 0, "\(result)")
        #expect(waitUntil(timeout: 10) { renewal.renewals == 1 }, "\(renewal.lastReport ?? "-")")
        #expect(try fixture.audit("rotation.send", subject: "meter-2").count == 1)
        #expect(try fixture.audit("renewal.issue", subject: "meter-2").count == 1)
        #expect(waitUntil(timeout: 10) { agent.isOnline && agent.connectionCount >= 2 })
    }

    @Test func refusalsCarryTheirReasonAndAreAudited() throws {
        let fixture = try RenewalFixture()
        let alpha = try fixture.provision("alpha")
        let beta = try fixture.provision("beta")
        let gamma = try fixture.provision("gamma")
        try fixture.start()
        let alphaSession = try fixture.fleet.session(alpha, as: "alpha")
        try alphaSession.subscribe("fleet/alpha/pki/response")
        let gammaSession = try fixture.fleet.session(gamma, as: "gamma")
        try gammaSession.subscribe("fleet/gamma/pki/response")

        // A CSR naming another device: refused, and its nonce is spent.
        let naming = try Self.request(bundle: alpha, device: "alpha", csrName: "beta")
        let first = try Self.ask(alphaSession, device: "alpha", payload: naming, tag: 1)
        #expect(first.status == "refused")
        #expect(first.reason?.contains("names 'beta'") == true, "\(first)")

        // The same request again: a replay.
        let second = try Self.ask(alphaSession, device: "alpha", payload: naming, tag: 2)
        #expect(second.reason?.contains("replayed") == true, "\(second)")

        // Published on another device's PKI topic: the broker refuses it before the CA sees it.
        let valid = try Self.request(bundle: alpha, device: "alpha", csrName: "alpha")
        let foreign = alphaSession.publishAndWait(
            "fleet/beta/pki/request", String(decoding: valid, as: UTF8.self), tag: 3)
        #expect(foreign?.rawValue == 0x87)
        _ = beta

        // A revoked device's renewal (its session still open, before any sync strips it).
        #expect(try fixture.fleet.fleetctl(["revoke", "gamma"]).status == 0)
        let revoked = try Self.ask(
            gammaSession, device: "gamma", payload: try Self.request(bundle: gamma, device: "gamma", csrName: "gamma"),
            tag: 4)
        #expect(revoked.status == "refused")
        #expect(revoked.reason?.contains("revoked") == true, "\(revoked)")
        #expect(revoked.reprovision == true)

        // serve restarted: the nonce is still known (kept in the inventory), so the replay is still refused.
        // (A new session: Mosquitto 2.0.11 closed alpha's after the denied PUBLISH above.)
        #expect(fixture.stopServe())
        try fixture.startServe()
        let alphaAgain = try fixture.fleet.session(alpha, as: "alpha")
        try alphaAgain.subscribe("fleet/alpha/pki/response")
        let afterRestart = try Self.ask(alphaAgain, device: "alpha", payload: naming, tag: 5)
        #expect(afterRestart.reason?.contains("replayed") == true, "\(afterRestart)")

        let alphaRefusals = try fixture.audit("renewal.refuse", subject: "alpha").map(\.details)
        #expect(alphaRefusals.contains { $0.contains("names 'beta'") })
        #expect(alphaRefusals.contains { $0.contains("replayed") })
        #expect(try fixture.audit("renewal.refuse", subject: "gamma").contains { $0.details.contains("revoked") })
        #expect(try fixture.audit("renewal.refuse", subject: "beta").isEmpty)
        #expect(try fixture.audit("renewal.issue", subject: "beta").isEmpty)
    }

    @Test func deviceExpiredWhileOfflineRecoversThroughItsRecoveryCredential() throws {
        let fixture = try RenewalFixture()
        let bundle = try fixture.provision("meter-3", validity: "2s")
        try fixture.start()
        let notAfter = try #require(try fixture.device("meter-3")?.activeCertificate?.notAfter)
        #expect(waitUntil(timeout: 10) { Date() > notAfter.addingTimeInterval(1) })

        let (agent, renewal) = try fixture.agent(bundle)
        agent.start()
        renewal.start()
        _ = try agent.submit(stream: "host", payload: Array("kept while expired".utf8))
        #expect(waitUntil(timeout: 20) { renewal.renewals == 1 }, "\(renewal.lastReport ?? "-") \(fixture.serveLog)")
        #expect(waitUntil(timeout: 10) { agent.isOnline && agent.status().backlog == 0 })
        let issued = try fixture.audit("renewal.issue", subject: "meter-3")
        #expect(issued.count == 1)
        #expect(issued.first?.details.contains("recovery") == true)
    }

    @Test func deviceExpiredPastGraceIsRefusedAndItsStatusSaysWhy() throws {
        let fixture = try RenewalFixture(renewal: ["graceSeconds": 1])
        let bundle = try fixture.provision("meter-4", validity: "2s")
        try fixture.start()
        let notAfter = try #require(try fixture.device("meter-4")?.activeCertificate?.notAfter)
        #expect(waitUntil(timeout: 10) { Date() > notAfter.addingTimeInterval(3) })

        let (agent, renewal) = try fixture.agent(bundle)
        agent.start()
        renewal.start()
        #expect(
            waitUntil(timeout: 20) { agent.status().renewal?.contains("provisioned again") == true },
            "\(agent.status().renewal ?? "-")")
        #expect(agent.status().renewal?.contains("grace") == true)
        // `fleet-agent status` (no broker needed) says it too.
        let printed = try runCommand(builtProduct("fleet-agent"), ["status", "--config", bundle + "/agent.json"])
        #expect(printed.standardOutput.contains("provisioned again"), "\(printed)")
        #expect(renewal.renewals == 0)
        #expect(try fixture.audit("renewal.refuse", subject: "meter-4").contains { $0.details.contains("grace") })
    }

    @Test func confirmedRenewalRevokesTheOldCertificateWhenConfiguredTo() throws {
        let fixture = try RenewalFixture(renewal: ["retireSuperseded": "revoke"])
        let bundle = try fixture.provision("meter-5")
        try fixture.start()
        let first = try #require(try fixture.device("meter-5")?.activeCertificate)
        let (agent, renewal) = try fixture.agent(bundle)
        agent.start()
        renewal.start()
        #expect(waitUntil(timeout: 10) { agent.isOnline })
        renewal.renewNow()
        #expect(waitUntil(timeout: 15) { (try? fixture.audit("renewal.confirm", subject: "meter-5").isEmpty) == false })
        let old = try #require(try fixture.device("meter-5")?.certificates.first { $0.serial == first.serial })
        #expect(old.state == .revoked)
        #expect(old.revocationReason == .superseded)
    }

    @Test func recoveryIdentityStaysInItsOwnSubtreeAndIngestIgnoresIt() throws {
        let fixture = try RenewalFixture()
        let bundle = try fixture.provision("meter-6")
        try fixture.start()
        let folder = try TemporaryDirectory("renewal-ingest")
        let ingest = try fixture.ingest(database: folder.file("ingest.db"))
        #expect(waitUntil(timeout: 10) { ingest.isConnected })
        // Mosquitto 2.0.11 answers a denied PUBLISH with PUBACK 0x87 and then closes the connection, so each
        // attempt gets a session of its own.
        func publish(_ topic: String, _ text: String) throws -> ReasonCode? {
            let session = try MQTTSession(
                port: fixture.fleet.port, clientID: "recovery~meter-6", caFile: bundle + "/root.pem",
                certificateFile: bundle + "/recovery-cert.pem", keyFile: bundle + "/recovery-key.pem")
            return session.publishAndWait(topic, text, tag: 1)
        }
        // Nothing under the device's own subtree.
        #expect(try publish("fleet/meter-6/telemetry/host", "forged")?.rawValue == 0x87)
        #expect(try publish("fleet/meter-6/pki/request", "{}")?.rawValue == 0x87)
        // Its own subtree, through the shared patterns: accepted by the broker, ignored by the consumer.
        #expect(try publish("fleet/recovery~meter-6/telemetry/host", "not a device")?.isFailure == false)
        usleep(300_000)
        ingest.stop()
        #expect(try IngestStore(path: folder.file("ingest.db")).report().isEmpty)
    }

    @Test func fleetAgentProcessRenewsOnARotationOrder() throws {
        let fixture = try RenewalFixture()
        let bundle = try fixture.provision("meter-7")
        try fixture.start()
        let log = fixture.fleet.folder.file("agent.log")
        let agent = try SpawnedProcess(
            builtProduct("fleet-agent"), ["run", "--config", bundle + "/agent.json"], outputPath: log)
        defer {
            agent.signal(SIGTERM)
            agent.waitForExit(timeout: 20)
        }
        let agentLog = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        #expect(waitUntil(timeout: 15) { agentLog().contains("connected broker") })
        usleep(300_000)
        #expect(try fixture.fleet.fleetctl(["rotate", "meter-7", "--online"]).status == 0)
        #expect(waitUntil(timeout: 15) { agentLog().contains("renewal done") }, "\(agentLog())")
        #expect(FileManager.default.fileExists(atPath: bundle + "/credentials/current"))
        #expect(agent.signal(SIGTERM))
        #expect(agent.waitForExit(timeout: 20))
        #expect(agentLog().contains("agent stopped"))
    }

    @Test func serveStopsCleanlyOnSIGTERM() throws {
        let fixture = try RenewalFixture()
        try fixture.start()
        #expect(fixture.stopServe())
        #expect(fixture.serveLog.contains("serve stopped"))
    }

    // MARK: - Helpers

    /// A signed renewal request for the device in `bundle`, with a CSR whose CN is `csrName`.
    static func request(bundle: String, device: String, csrName: String) throws -> [UInt8] {
        let key = try PrivateKey(pem: String(contentsOfFile: bundle + "/key.pem", encoding: .utf8))
        let certificate = try String(contentsOfFile: bundle + "/cert.pem", encoding: .utf8)
        let csr = try CertificateSigningRequest.create(key: PrivateKey.generate(.p256), commonName: csrName).pem
        let nonce = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signature = try Signature.sign(
            RenewalRequest.signedText(device: device, type: "renew", nonce: nonce, timestamp: timestamp, csr: csr),
            with: key)
        let request = RenewalRequest(
            csr: csr, certificate: certificate, nonce: nonce, timestamp: timestamp,
            signature: Data(signature).base64EncodedString())
        return Array(try JSONEncoder().encode(request))
    }

    struct Answer: Decodable {
        let status: String
        let reason: String?
        let reprovision: Bool?
    }

    /// Publishes `payload` as a request with correlation data and waits for the answer that echoes it.
    static func ask(_ session: MQTTSession, device: String, payload: [UInt8], tag: UInt64) throws -> Answer {
        let correlation = Array("request-\(tag)".utf8)
        try session.client.publish(
            MQTTMessage(
                topic: "fleet/\(device)/pki/request", payload: payload, qos: 1,
                responseTopic: "fleet/\(device)/pki/response", correlationData: correlation), tag: tag)
        var answer: MQTTMessage?
        _ = waitUntil(timeout: 10) {
            answer = session.messages.first { $0.correlationData == correlation }
            return answer != nil
        }
        let message = try #require(answer, "no answer to request \(tag)")
        return try JSONDecoder().decode(Answer.self, from: Data(message.payload))
    }
}
