import Foundation
import PKI
import TelemetryAgent
import TestSupport
import Testing

/// The renewed key and certificate pairs on disk (K11): never a key beside a certificate it does not
/// belong to, and a damaged pair found at start is reported and the last good one used.
struct CredentialStoreTests {
    /// A bundle folder with one device's pair and a configuration pointing at it.
    private func bundle(_ pki: TestPKI) throws -> (TemporaryDirectory, AgentConfiguration) {
        let folder = try TemporaryDirectory("credential-store")
        let files = try pki.device("store-1")
        for (source, name) in [
            (files.ca, "root.pem"), (files.chain, "chain.pem"), (files.certificate, "cert.pem"), (files.key, "key.pem"),
        ] {
            try FileManager.default.copyItem(atPath: source, toPath: folder.file(name))
        }
        let text = """
            { "device": "store-1", "broker": { "host": "127.0.0.1", "port": 8883 },
              "tls": { "ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem" } }
            """
        try text.write(toFile: folder.file("agent.json"), atomically: true, encoding: .utf8)
        return (folder, try AgentConfiguration.load(path: folder.file("agent.json")))
    }

    @Test func installedPairBecomesCurrentOnlyOnceWhole() throws {
        let pki = try TestPKI()
        let (folder, configuration) = try bundle(pki)
        let store = CredentialStore(configuration: configuration)
        #expect(store.current().pair?.certificate == folder.file("cert.pem"))
        #expect(store.current().problem == nil)

        // A renewal that died before the pointer moved: a key alone in a new folder changes nothing.
        try FileManager.default.createDirectory(atPath: store.folder + "/7", withIntermediateDirectories: true)
        try PrivateKey.generate().pem().write(toFile: store.folder + "/7/key.pem", atomically: true, encoding: .utf8)
        #expect(store.current().pair?.certificate == folder.file("cert.pem"))
        #expect(store.current().problem == nil)

        // A whole pair installed: it is current.
        let renewed = try pki.device("store-1")
        let key = try PrivateKey(pem: String(contentsOfFile: renewed.key, encoding: .utf8))
        let pair = try store.install(
            certificatePEM: String(contentsOfFile: renewed.certificate, encoding: .utf8),
            chainPEM: String(contentsOfFile: renewed.chain, encoding: .utf8), key: key)
        #expect(store.current().pair == pair)
        #expect(pair.key.hasPrefix(store.folder + "/8/"))
    }

    @Test func mismatchedPairAtStartIsReportedAndTheLastGoodPairUsed() throws {
        let pki = try TestPKI()
        let (folder, configuration) = try bundle(pki)
        let store = CredentialStore(configuration: configuration)
        let renewed = try pki.device("store-1")
        let pair = try store.install(
            certificatePEM: String(contentsOfFile: renewed.certificate, encoding: .utf8), chainPEM: nil,
            key: PrivateKey(pem: String(contentsOfFile: renewed.key, encoding: .utf8)))

        // Someone replaced the key behind the agent's back (the K11 failure).
        try PrivateKey.generate().pem().write(toFile: pair.key, atomically: true, encoding: .utf8)
        let (current, problem) = store.current()
        #expect(current?.certificate == folder.file("cert.pem"))
        #expect(problem?.contains("does not belong to the certificate") == true)
        #expect(problem?.contains("last good pair") == true)
    }

    @Test func installRefusesACertificateForAnotherKey() throws {
        let pki = try TestPKI()
        let (folder, configuration) = try bundle(pki)
        let store = CredentialStore(configuration: configuration)
        let other = try pki.device("store-1")
        #expect(throws: AgentError.self) {
            try store.install(
                certificatePEM: String(contentsOfFile: other.certificate, encoding: .utf8), chainPEM: nil,
                key: PrivateKey.generate())
        }
        #expect(store.current().problem == nil)
        #expect(store.current().pair?.certificate == folder.file("cert.pem"))
    }

    @Test func scheduleFallsAtTheFractionOfTheLifetimeWithinTheJitter() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        let end = start.addingTimeInterval(900)
        let early = RenewalSchedule(notBefore: start, notAfter: end, fraction: 2.0 / 3.0, jitter: 0.05, random: 0)
        let middle = RenewalSchedule(notBefore: start, notAfter: end, fraction: 2.0 / 3.0, jitter: 0.05, random: 0.5)
        let late = RenewalSchedule(notBefore: start, notAfter: end, fraction: 2.0 / 3.0, jitter: 0.05, random: 1)
        #expect(abs(middle.renewAt.timeIntervalSince(start) - 600) < 0.001)
        #expect(abs(early.renewAt.timeIntervalSince(start) - 555) < 0.001)
        #expect(abs(late.renewAt.timeIntervalSince(start) - 645) < 0.001)
        // A clock that jumped (or a device that slept) past the date finds it due at the next tick.
        #expect(middle.isDue(now: end.addingTimeInterval(3600)))
        #expect(!middle.isDue(now: start.addingTimeInterval(599)))
    }
}
