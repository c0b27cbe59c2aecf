import FleetCA
import Foundation
import PKI
import TestSupport
import Testing

/// The public API other modules call (broker init, the renewal service, the policy exporter).
@Suite struct CertificateAuthorityAPITests {
    private func makeCA(_ folder: TemporaryDirectory, crlLifetime: Int64 = 7 * 86_400, now: Date = Date()) throws
        -> CertificateAuthority
    {
        var options = CAInitOptions(name: "API Test")
        options.configuration.crlLifetimeSeconds = crlLifetime
        return try CertificateAuthority.create(home: CAHome(path: folder.file("ca")), options: options, now: now)
    }

    @Test func crlIsResignedPastHalfItsLifetimeWhetherOrNotAnythingChanged() throws {
        let folder = try TemporaryDirectory()
        let start = Date()
        _ = try makeCA(folder, crlLifetime: 4 * 86_400, now: start)
        let authority = try CertificateAuthority.open(home: CAHome(path: folder.file("ca")))
        let first = try authority.currentCRL(now: start)
        let early = try authority.currentCRL(now: start.addingTimeInterval(86_400))
        #expect(early.number == first.number, "not yet half way: the same CRL")
        let later = try authority.currentCRL(now: start.addingTimeInterval(2 * 86_400 + 1))
        #expect((later.number ?? 0) > (first.number ?? 0))
        #expect(later.nextUpdate > first.nextUpdate)
        #expect(later.isSigned(by: authority.issuingCertificate))
        #expect(try String(contentsOfFile: folder.file("ca/crl.pem"), encoding: .utf8) == (try later.pem))
    }

    @Test func expiredRevokedCertificatesLeaveTheCRL() throws {
        let folder = try TemporaryDirectory()
        let now = Date()
        let authority = try makeCA(folder, now: now)
        let short = try authority.provision(DeviceEnrollment(id: "short-lived", validitySeconds: 3_600), now: now)
        let long = try authority.provision(DeviceEnrollment(id: "long-lived"), now: now)
        try authority.revoke(id: "short-lived", reason: .keyCompromise, now: now)
        try authority.revoke(id: "long-lived", reason: .cessationOfOperation, now: now)
        #expect(Set(try authority.currentCRL(now: now).revokedSerials) == [short.record.serial, long.record.serial])

        let afterExpiry = now.addingTimeInterval(4 * 86_400)
        #expect(try authority.currentCRL(now: afterExpiry).revokedSerials == [long.record.serial])
        #expect(try authority.revokedSerials(now: afterExpiry) == [long.record.serial])
    }

    @Test func brokerServerCertificateVerifiesForLocalhostAndLoopback() throws {
        let folder = try TemporaryDirectory()
        let authority = try makeCA(folder)
        let credential = try authority.issueServerCertificate(hostNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let key = try #require(credential.privateKey)
        #expect(key.matches(credential.certificate))
        #expect(credential.certificate.subjectAlternativeIPAddresses == ["127.0.0.1"])
        try ServiceBundle.write(credential, authority: authority, to: folder.file("broker"))
        let result = try runCommand(
            "openssl",
            [
                "verify", "-x509_strict", "-purpose", "sslserver", "-verify_hostname", "localhost", "-verify_ip",
                "127.0.0.1",
                "-CAfile", folder.file("broker/root.pem"), "-untrusted", folder.file("broker/chain.pem"),
                folder.file("broker/cert.pem"),
            ])
        #expect(result.status == 0, "\(result)")
        #expect(throws: FleetCAError.self) { try authority.issueServerCertificate(hostNames: [], ipAddresses: []) }
        #expect(throws: FleetCAError.self) { try authority.issueServerCertificate(hostNames: ["a b"], ipAddresses: []) }
    }

    @Test func renewalFromACSRSupersedesAndLookupsReportGroupsAndState() throws {
        let folder = try TemporaryDirectory()
        let authority = try makeCA(folder)
        _ = try authority.provision(
            DeviceEnrollment(id: "dev-7", groups: ["lobby", "sensors"], attributes: ["site": "n"]))
        let key = try PrivateKey.generate(.ed25519)
        let request = try CertificateSigningRequest.create(key: key, commonName: "dev-7")
        let renewed = try authority.issueDeviceCertificate(deviceID: "dev-7", request: request)
        #expect(renewed.privateKey == nil)
        #expect(key.matches(renewed.certificate))
        #expect(renewed.certificate.summary.keyType == "ed25519")
        try ChainVerifier.verify(
            renewed.certificate, intermediates: [authority.issuingCertificate], roots: [authority.rootCertificate],
            crls: [authority.currentCRL()], purpose: .tlsClient)
        try ChainVerifier.verify(
            Certificate(pem: renewed.certificate.pem), intermediates: [authority.issuingCertificate],
            roots: [authority.rootCertificate], purpose: .tlsClient)

        let device = try #require(try authority.device(id: "dev-7"))
        #expect(device.groups == ["lobby", "sensors"])
        #expect(device.attributes == ["site": "n"])
        #expect(device.state == .active)
        #expect(device.activeCertificate?.serial == renewed.record.serial)
        #expect(device.certificates.map(\.state) == [.active, .superseded])
        #expect(try authority.devices(group: "lobby").map(\.id) == ["dev-7"])
        #expect(try authority.devices(group: "nobody").isEmpty)

        let stranger = try CertificateSigningRequest.create(key: key, commonName: "dev-8")
        #expect(throws: FleetCAError.self) {
            try authority.issueDeviceCertificate(deviceID: "dev-8", request: stranger)
        }
        #expect(throws: FleetCAError.self) {
            try authority.issueDeviceCertificate(deviceID: "dev-7", request: stranger)
        }
    }

    @Test func pkilintCatchesAForeignZeroSerialCertificate() throws {
        // The lint helper must be able to fail: a certificate with serial 0 is an RFC 5280 error.
        let folder = try TemporaryDirectory()
        let made = try runCommand(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                folder.file("k"),
                "-subj", "/CN=zero", "-set_serial", "0", "-days", "1", "-out", folder.file("z.pem"),
            ])
        #expect(made.status == 0)
        #expect(try pkilintErrors(folder.file("z.pem")).contains { $0.contains("serial_number") })
    }
}
