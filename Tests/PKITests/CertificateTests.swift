import Foundation
import PKI
import TestSupport
import Testing

@Suite struct CertificateTests {
    @Test func deviceCertificateCarriesTheDesignedProfile() throws {
        let fixture = try PKIFixture()
        let now = Date()
        let (key, certificate) = try fixture.device("sensor-1", now: now)
        #expect(certificate.subjectCommonName == "sensor-1")
        #expect(certificate.subjectAlternativeURIs == ["urn:fleet:device:sensor-1"])
        #expect(!certificate.isCertificateAuthority)
        #expect(key.matches(certificate))
        #expect(certificate.isIssued(by: fixture.issuing))
        #expect(!certificate.isIssued(by: fixture.root))
        // Backdated five minutes for clock skew, and exactly the asked-for lifetime after issuance.
        #expect(abs(certificate.notBefore.timeIntervalSince(now) + 300) <= 1)
        #expect(abs(certificate.notAfter.timeIntervalSince(now) - 86_400) <= 1)
        try ChainVerifier.verify(
            certificate, intermediates: [fixture.issuing], roots: [fixture.root], purpose: .tlsClient)

        let text = try openSSLText(certificate)
        #expect(text.contains("TLS Web Client Authentication"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("Digital Signature"))
        let ski = try #require(text.range(of: "Subject Key Identifier"))
        let aki = try #require(text.range(of: "Authority Key Identifier"))
        #expect(ski.lowerBound < aki.lowerBound)
    }

    @Test func issuingCertificateIsPathLengthZeroWithCertAndCRLSigning() throws {
        let fixture = try PKIFixture()
        #expect(fixture.issuing.isCertificateAuthority)
        let text = try openSSLText(fixture.issuing)
        #expect(text.contains("CA:TRUE, pathlen:0"))
        #expect(text.contains("Certificate Sign, CRL Sign"))
    }

    @Test func notAfterIsClampedToTheIssuer() throws {
        let fixture = try PKIFixture(issuingValidity: 3_600)
        let (_, certificate) = try fixture.device("clamped", validity: 86_400 * 30)
        #expect(certificate.notAfter == fixture.issuing.notAfter)
    }

    @Test func datesBefore2050AreUTCTimeAndFromThenGeneralizedTime() throws {
        let folder = try TemporaryDirectory()
        let fixture = try PKIFixture(rootValidity: 60 * 31_536_000, issuingValidity: 50 * 31_536_000)
        let (_, short) = try fixture.device("short", validity: 86_400)
        let (_, long) = try fixture.device("long", validity: 40 * 31_536_000)
        #expect(long.notAfter > Date(timeIntervalSince1970: 2_524_608_000))  // 2050-01-01
        let shortDump = try asn1Dump(short, folder)
        let longDump = try asn1Dump(long, folder)
        #expect(shortDump.components(separatedBy: "UTCTIME").count - 1 == 2)
        #expect(!shortDump.contains("GENERALIZEDTIME"))
        #expect(longDump.components(separatedBy: "UTCTIME").count - 1 == 1)
        #expect(longDump.components(separatedBy: "GENERALIZEDTIME").count - 1 == 1)
    }

    @Test func serverProfileHasServerAuthAndDNSAndIPNames() throws {
        let folder = try TemporaryDirectory()
        let fixture = try PKIFixture()
        let key = try PrivateKey.generate()
        let certificate = try CertificateBuilder.issue(
            CertificateTemplate(
                commonName: "localhost", profile: .server, dnsNames: ["localhost", "broker.example"],
                ipAddresses: ["127.0.0.1", "::1"], validitySeconds: 86_400),
            subjectKey: key.publicKey, issuer: fixture.issuing, issuerKey: fixture.issuingKey, serial: .random())
        #expect(certificate.subjectAlternativeDNSNames == ["localhost", "broker.example"])
        #expect(certificate.subjectAlternativeIPAddresses == ["127.0.0.1", "::1"])
        try ChainVerifier.verify(
            certificate, intermediates: [fixture.issuing], roots: [fixture.root], purpose: .tlsServer)
        #expect(throws: PKIError.self) {
            try ChainVerifier.verify(
                certificate, intermediates: [fixture.issuing], roots: [fixture.root], purpose: .tlsClient)
        }
        let result = try runCommand(
            "openssl",
            [
                "verify", "-x509_strict", "-purpose", "sslserver", "-verify_hostname", "localhost", "-verify_ip",
                "127.0.0.1",
                "-CAfile", write(fixture.root.pem, "root.pem", in: folder.path),
                "-untrusted", write(fixture.issuing.pem, "issuing.pem", in: folder.path),
                write(certificate.pem, "server.pem", in: folder.path),
            ])
        #expect(result.status == 0, "\(result)")
    }

    @Test func namesThatWouldChangeTheExtensionSyntaxAreRefused() throws {
        let fixture = try PKIFixture()
        let key = try PrivateKey.generate()
        for template in [
            CertificateTemplate(commonName: "x", profile: .server, dnsNames: ["a,IP:1.2.3.4"], validitySeconds: 60),
            CertificateTemplate(commonName: "x", profile: .server, ipAddresses: ["999.1.1.1"], validitySeconds: 60),
            CertificateTemplate(commonName: "x", profile: .client, uris: ["urn:x,DNS:evil"], validitySeconds: 60),
        ] {
            #expect(throws: PKIError.self) {
                try CertificateBuilder.issue(
                    template, subjectKey: key.publicKey, issuer: fixture.issuing,
                    issuerKey: fixture.issuingKey, serial: .random())
            }
        }
    }

    @Test func summaryReportsWhatTheBrokerAndAgentNeed() throws {
        let fixture = try PKIFixture()
        let (_, certificate) = try fixture.device("dev-9")
        let summary = certificate.summary
        #expect(summary.commonName == "dev-9")
        #expect(summary.uris == ["urn:fleet:device:dev-9"])
        #expect(summary.serial == (try certificate.serialNumber.hex))
        #expect(summary.issuer == "CN=Test Issuing CA,O=Test")
        #expect(summary.fingerprintSHA256.count == 64)
        #expect(summary.keyType == "p256")
        #expect(summary.notBefore < summary.notAfter)
        let der = try certificate.der
        #expect(try Certificate(der: der).fingerprintSHA256 == summary.fingerprintSHA256)
    }

    @Test func foreignCertificateWithNegativeOrZeroSerialIsReadButItsSerialRefused() throws {
        let folder = try TemporaryDirectory()
        for (serial, word) in [("-5", "negative"), ("0", "serial number 0")] {
            let path = folder.file("foreign\(serial).pem")
            let made = try runCommand(
                "openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", folder.file("k\(serial).pem"), "-subj", "/CN=foreign", "-set_serial", serial, "-days",
                    "1",
                    "-out", path,
                ])
            #expect(made.status == 0, "\(made)")
            let certificate = try Certificate(pem: String(contentsOfFile: path, encoding: .utf8))
            let error = #expect(throws: PKIError.self) { try certificate.serialNumber }
            #expect(error?.message.contains(word) == true, "\(String(describing: error))")
            #expect(certificate.summary.commonName == "foreign")
        }
    }

    @Test func ed25519AndRSAHierarchiesVerify() throws {
        for type in [KeyType.ed25519, .rsa(bits: 2048), .p384] {
            let fixture = try PKIFixture(keyType: type)
            let (_, certificate) = try fixture.device("dev-\(type.name)", keyType: type)
            try ChainVerifier.verify(
                certificate, intermediates: [fixture.issuing], roots: [fixture.root], purpose: .tlsClient)
        }
    }

    @Test func expiredCertificateFailsVerificationWithAClearReason() throws {
        let fixture = try PKIFixture()
        let (_, certificate) = try fixture.device("old", validity: 60)
        let error = #expect(throws: PKIError.self) {
            try ChainVerifier.verify(
                certificate, intermediates: [fixture.issuing], roots: [fixture.root],
                at: Date().addingTimeInterval(3_600))
        }
        #expect(error?.message.contains("expired") == true)
    }

    private func openSSLText(_ certificate: Certificate) throws -> String {
        let folder = try TemporaryDirectory()
        let result = try runCommand(
            "openssl", ["x509", "-noout", "-text", "-in", write(certificate.pem, "c.pem", in: folder.path)])
        return result.standardOutput
    }

    private func asn1Dump(_ certificate: Certificate, _ folder: TemporaryDirectory) throws -> String {
        let path = try write(certificate.pem, "c\(certificate.serialText).pem", in: folder.path)
        return try runCommand("openssl", ["asn1parse", "-in", path]).standardOutput
    }
}
