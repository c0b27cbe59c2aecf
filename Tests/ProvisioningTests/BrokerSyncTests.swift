import FleetCA
import Foundation
import MQTT
import PKI
import Provisioning
import TestSupport
import Testing

/// `broker init` and `broker sync` against a stock Mosquitto run from the configuration they wrote.
@Suite(.serialized) struct BrokerSyncTests {
    @Test func stockMosquittoEnforcesTheGeneratedConfiguration() throws {
        let fixture = try FleetBrokerFixture()
        let sensor = try fixture.provision("sensor-1")
        try fixture.startBroker()

        let session = try fixture.session(sensor, as: "sensor-1")
        #expect(try #require(session.publishAndWait("fleet/sensor-1/telemetry/host", "{}", tag: 1)).isFailure == false)
        #expect(session.publishAndWait("fleet/sensor-2/telemetry/host", "{}", tag: 2) == .notAuthorized)

        // A client certificate from any other CA never gets in.
        let stranger = try TestPKI().device("sensor-1")
        let outcome = HandshakeProbe.attempt(
            host: "127.0.0.1", port: Int(fixture.port), caFile: sensor + "/root.pem",
            certificateFile: stranger.certificate, keyFile: stranger.key, clientID: "sensor-1")
        #expect(outcome != .accepted)
    }

    @Test func revokedDeviceIsLockedOutAndItsOpenSessionCanDoNothing() throws {
        let fixture = try FleetBrokerFixture()
        let victim = try fixture.provision("sensor-1")
        let bystander = try fixture.provision("sensor-2")
        let consumerBundle = try fixture.service("telemetry-consumer")
        let caBundle = try fixture.service("fleet-ca")
        try fixture.startBroker()

        let consumer = try fixture.session(consumerBundle, as: "telemetry-consumer")
        try consumer.subscribe("fleet/+/telemetry/#")
        let commander = try fixture.session(caBundle, as: "fleet-ca")
        let victimSession = try fixture.session(victim, as: "sensor-1")
        try victimSession.subscribe("fleet/sensor-1/command")
        let bystanderSession = try fixture.session(bystander, as: "sensor-2")
        try bystanderSession.subscribe("fleet/sensor-2/command")
        #expect(victimSession.publishAndWait("fleet/sensor-1/telemetry/t", "before", tag: 1) == .success)

        // One command revokes, pushes the CRL and ACL to the broker, and proves the broker enforces them.
        let revoke = try fixture.fleetctl([
            "revoke", "sensor-1", "--reason", "keyCompromise", "--broker-dir",
            fixture.brokerFolder,
        ])
        #expect(revoke.status == 0, "\(revoke)")
        #expect(revoke.standardOutput.contains("revoked canary refused"))

        // A new handshake with the revoked credential fails.
        let retry = HandshakeProbe.attempt(
            host: "127.0.0.1", port: Int(fixture.port), caFile: victim + "/root.pem",
            certificateFile: victim + "/cert.pem", keyFile: victim + "/key.pem", clientID: "sensor-1")
        #expect(retry != .accepted, "the revoked device connected again")

        // The session opened before the revocation can neither publish nor receive.
        let refused = victimSession.publishAndWait("fleet/sensor-1/telemetry/t", "after", tag: 2)
        #expect(
            refused != .success && refused != .noMatchingSubscribers,
            "revoked session published: \(String(describing: refused))")
        #expect(commander.publishAndWait("fleet/sensor-1/command", "stop", tag: 1) != nil)
        #expect(commander.publishAndWait("fleet/sensor-2/command", "carry-on", tag: 2) == .success)
        #expect(waitUntil(timeout: 10) { bystanderSession.messages.count == 1 })
        #expect(!waitUntil(timeout: 1) { !victimSession.messages.isEmpty }, "the revoked session received a command")

        // Everyone else carries on.
        #expect(bystanderSession.publishAndWait("fleet/sensor-2/telemetry/t", "fine", tag: 3) == .success)
        #expect(waitUntil(timeout: 10) { consumer.messages.contains { $0.topic == "fleet/sensor-2/telemetry/t" } })
        #expect(!consumer.messages.contains { $0.payload == Array("after".utf8) })
    }

    @Test func corruptOrForeignCRLIsRefusedAndTheBrokerKeepsTheCurrentOne() throws {
        let fixture = try FleetBrokerFixture()
        let victim = try fixture.provision("sensor-1")
        try fixture.startBroker()
        try fixture.fleetctl(["revoke", "sensor-1"])
        #expect(try fixture.sync().status == 0)
        let deployed = try String(contentsOfFile: fixture.brokerFolder + "/crl.pem", encoding: .utf8)

        let garbage = fixture.folder.file("garbage.pem")
        try "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".write(
            toFile: garbage, atomically: true, encoding: .utf8)
        let corrupt = try fixture.sync(["--crl", garbage])
        #expect(corrupt.status == 1)
        #expect(corrupt.standardError.contains("cannot be read"), "\(corrupt)")

        let foreignPKI = try TestPKI()
        let foreignCRL = fixture.folder.file("foreign.pem")
        let foreignKey = try PrivateKey.generate()
        let foreignIssuer = try Certificate(pem: String(contentsOfFile: foreignPKI.chainFile, encoding: .utf8))
        try RevocationList.build(
            issuer: foreignIssuer, issuerKey: foreignKey, number: 99, thisUpdate: Date(),
            nextUpdate: Date().addingTimeInterval(86_400), entries: []
        )
        .pem.write(toFile: foreignCRL, atomically: true, encoding: .utf8)
        let foreign = try fixture.sync(["--crl", foreignCRL])
        #expect(foreign.status == 1)
        #expect(foreign.standardError.contains("not signed by the issuing CA"), "\(foreign)")

        // An expired CRL, properly signed, is refused too: deployed, it would lock every client out.
        let issuingKey = try PrivateKey(
            pem: String(contentsOfFile: fixture.home + "/issuing/issuing.key", encoding: .utf8))
        let issuing = try Certificate(
            pem: String(contentsOfFile: fixture.home + "/issuing/issuing.pem", encoding: .utf8))
        let expiredCRL = fixture.folder.file("expired.pem")
        try RevocationList.build(
            issuer: issuing, issuerKey: issuingKey, number: 1_000,
            thisUpdate: Date().addingTimeInterval(-7_200),
            nextUpdate: Date().addingTimeInterval(-60), entries: []
        )
        .pem.write(toFile: expiredCRL, atomically: true, encoding: .utf8)
        let expired = try fixture.sync(["--crl", expiredCRL])
        #expect(expired.status == 1)
        #expect(expired.standardError.contains("expired at"), "\(expired)")

        #expect(try String(contentsOfFile: fixture.brokerFolder + "/crl.pem", encoding: .utf8) == deployed)
        let retry = HandshakeProbe.attempt(
            host: "127.0.0.1", port: Int(fixture.port), caFile: victim + "/root.pem",
            certificateFile: victim + "/cert.pem", keyFile: victim + "/key.pem", clientID: "sensor-1")
        #expect(retry != .accepted, "the broker stopped enforcing the CRL")
    }

    @Test func devicesStillConnectPastTheFirstCRLsNextUpdateWhileSyncKeepsItFresh() throws {
        let lifetime = 6.0
        let fixture = try FleetBrokerFixture(caInit: ["--crl-lifetime", "6s"])
        let sensor = try fixture.provision("sensor-1")
        try fixture.startBroker()
        let first = try RevocationList(pem: String(contentsOfFile: fixture.brokerFolder + "/crl.pem", encoding: .utf8))

        // The refresh in place: sync more often than half the lifetime, until well past the first nextUpdate.
        while Date() < first.nextUpdate.addingTimeInterval(lifetime) {
            let sync = try fixture.sync()
            #expect(sync.status == 0, "\(sync)")
            Thread.sleep(forTimeInterval: 1)
        }
        let late = try fixture.session(sensor, as: "sensor-1")
        #expect(late.publishAndWait("fleet/sensor-1/telemetry/t", "still here", tag: 1)?.isFailure == false)
        late.client.disconnect()

        // Without the refresh the same broker refuses everyone once the CRL's nextUpdate passes (K01).
        let last = try RevocationList(pem: String(contentsOfFile: fixture.brokerFolder + "/crl.pem", encoding: .utf8))
        Thread.sleep(until: last.nextUpdate.addingTimeInterval(1))
        #expect(throws: (any Error).self) { _ = try fixture.session(sensor, as: "sensor-1") }
    }
}

/// A sync must never leave a working broker refusing its own fleet.
@Suite(.serialized) struct BrokerSyncSafetyTests {
    @Test func syncWithAnotherCAsHomeChangesNothing() throws {
        let fixture = try FleetBrokerFixture()
        let sensor = try fixture.provision("sensor-1")
        try fixture.startBroker()
        let crlBefore = try String(contentsOfFile: fixture.brokerFolder + "/crl.pem", encoding: .utf8)

        let other = try TemporaryDirectory("fleet-other-ca")
        let created = try runCommand(builtProduct("fleetctl"), ["ca", "init", "--home", other.file("ca")])
        #expect(created.status == 0, "\(created)")
        let sync = try runCommand(
            builtProduct("fleetctl"),
            ["broker", "sync", "--dir", fixture.brokerFolder, "--home", other.file("ca")])
        #expect(sync.status == 1)
        #expect(sync.standardError.contains("does not trust the issuing CA"), "\(sync)")
        #expect(try String(contentsOfFile: fixture.brokerFolder + "/crl.pem", encoding: .utf8) == crlBefore)
        let session = try fixture.session(sensor, as: "sensor-1")
        #expect(session.publishAndWait("fleet/sensor-1/telemetry/t", "{}", tag: 1)?.isFailure == false)
    }

    @Test func crlThatLocksOutGoodClientsIsRolledBack() throws {
        let fixture = try FleetBrokerFixture()
        let sensor = try fixture.provision("sensor-1")
        try fixture.startBroker()

        // A CRL the issuing CA really signed, listing everything the inventory revoked and also the good
        // canary: it passes every file check, and only the broker's behaviour shows it is wrong.
        let issuingKey = try PrivateKey(
            pem: String(contentsOfFile: fixture.home + "/issuing/issuing.key", encoding: .utf8))
        let issuing = try Certificate(
            pem: String(contentsOfFile: fixture.home + "/issuing/issuing.pem", encoding: .utf8))
        let good = try Certificate(
            pem: String(
                contentsOfFile: fixture.brokerFolder + "/canary/good/cert.pem",
                encoding: .utf8))
        let authority = try CertificateAuthority.open(home: CAHome(path: fixture.home))
        let listed = try authority.revokedSerials().map { try SerialNumber(hex: $0) } + [try good.serialNumber]
        let entries = listed.map { RevocationList.Entry(serial: $0, revokedAt: Date(), reason: .keyCompromise) }
        let bad = fixture.folder.file("bad.pem")
        try RevocationList.build(
            issuer: issuing, issuerKey: issuingKey, number: 900, thisUpdate: Date(),
            nextUpdate: Date().addingTimeInterval(86_400), entries: entries
        )
        .pem.write(toFile: bad, atomically: true, encoding: .utf8)

        let sync = try fixture.sync(["--crl", bad])
        #expect(sync.status == 1)
        #expect(sync.standardError.contains("previous CRL and ACL were put back"), "\(sync)")
        #expect(
            waitUntil(timeout: 10) { (try? fixture.session(sensor, as: "sensor-1")) != nil },
            "the broker still refuses a good device after the rollback")
    }
}
