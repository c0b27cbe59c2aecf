import Foundation
import TestSupport
import Testing

@Suite struct RevocationTests {
    @Test func revokedCertificateFailsCRLCheckWhileOthersStillPass() throws {
        let ca = try CATestHome()
        for id in ["keep-1", "lose-1"] {
            #expect(try ca.fleetctl(["provision", id, "--generate-key", "--out", ca.file(id)]).status == 0)
        }
        let numberBefore = try jsonObject(ca.fleetctl(["crl", "--json"]).standardOutput)["number"] as? Int ?? 0
        let revoked = try ca.fleetctl(["revoke", "lose-1", "--reason", "keyCompromise"])
        #expect(revoked.status == 0, "\(revoked)")

        let lost = try ca.verifyClient(ca.file("lose-1/cert.pem"), crl: true)
        #expect(lost.status != 0)
        #expect((lost.standardOutput + lost.standardError).contains("certificate revoked"), "\(lost)")
        let kept = try ca.verifyClient(ca.file("keep-1/cert.pem"), crl: true)
        #expect(kept.status == 0, "\(kept)")

        let crl = try jsonObject(ca.fleetctl(["crl", "--json"]).standardOutput)
        #expect((crl["number"] as? Int ?? 0) > numberBefore)
        // The device's certificate and its recovery credential (docs/renewal.md).
        #expect((crl["revokedSerials"] as? [String])?.count == 2)
        let text = try runCommand("openssl", ["crl", "-in", ca.crlPath, "-noout", "-text"]).standardOutput
        #expect(text.contains("Key Compromise"))
        #expect(try pkilintErrors(ca.crlPath, crl: true) == [])

        let listed = try jsonArray(ca.fleetctl(["list", "--state", "revoked", "--json"]).standardOutput)
        #expect(listed.map { $0["subject"] as? String } == ["recovery~lose-1", "lose-1"])
        let twice = try ca.fleetctl(["revoke", "lose-1"])
        #expect(twice.status != 0)
        #expect(twice.standardError.contains("no certificate left to revoke"), "\(twice)")
    }

    @Test func revokeBySerialAndByCertificateFile() throws {
        let ca = try CATestHome()
        for id in ["s-1", "s-2"] {
            #expect(try ca.fleetctl(["provision", id, "--generate-key", "--out", ca.file(id)]).status == 0)
        }
        let serial = try runCommand("openssl", ["x509", "-in", ca.file("s-1/cert.pem"), "-noout", "-serial"])
            .standardOutput.replacingOccurrences(of: "serial=", with: "").trimmingCharacters(
                in: .whitespacesAndNewlines)
        #expect(try ca.fleetctl(["revoke", "--serial", serial.lowercased()]).status == 0)
        #expect(
            try ca.fleetctl(["revoke", "--cert", ca.file("s-2/cert.pem"), "--reason", "cessationOfOperation"]).status
                == 0)
        let crl = try jsonObject(ca.fleetctl(["crl", "--json"]).standardOutput)
        #expect((crl["revokedSerials"] as? [String])?.count == 2)
        let unknown = try ca.fleetctl(["revoke", "--serial", "0a0b0c"])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("no certificate with serial 0a0b0c"))
    }

    /// CASES.md K04: a foreign certificate with a negative or zero serial is refused clearly, never a crash,
    /// and never reaches the CRL.
    @Test func foreignCertificateWithNegativeOrZeroSerialIsRefused() throws {
        let ca = try CATestHome()
        let crlBefore = try String(contentsOfFile: ca.crlPath, encoding: .utf8)
        for (serial, reason) in [("-5", "negative serial number -05"), ("0", "serial number 0")] {
            let path = ca.file("foreign\(serial).pem")
            let made = try runCommand(
                "openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", ca.file("k\(serial)"), "-subj", "/CN=foreign", "-set_serial", serial, "-days", "1",
                    "-out", path,
                ])
            #expect(made.status == 0, "\(made)")
            let result = try ca.fleetctl(["revoke", "--cert", path])
            #expect(result.status == 1, "\(result)")
            #expect(result.standardError.contains(reason), "\(result)")
        }
        for serial in ["-05", "00", "0"] {
            // A serial this CA can never have issued is a malformed --serial value: a usage error.
            let result = try ca.fleetctl(["revoke", "--serial", serial])
            #expect(result.status == 2, "\(serial): \(result)")
            #expect(
                result.standardError.contains("negative") || result.standardError.contains("serial number 0"),
                "\(result)")
        }
        #expect(try String(contentsOfFile: ca.crlPath, encoding: .utf8) == crlBefore)
    }

    @Test func serviceIdentityIsAClientCertificateAndRevocable() throws {
        let ca = try CATestHome()
        let out = ca.file("svc")
        let added = try ca.fleetctl(["service", "add", "ingest", "--out", out, "--json"])
        #expect(added.status == 0, "\(added)")
        let text = try runCommand("openssl", ["x509", "-in", out + "/cert.pem", "-noout", "-text"]).standardOutput
        #expect(text.contains("URI:urn:fleet:service:ingest"))
        #expect(text.contains("Subject: CN = ingest"))
        #expect(try ca.verifyClient(out + "/cert.pem").status == 0)
        #expect(try pkilintErrors(out + "/cert.pem") == [])
        let twice = try ca.fleetctl(["service", "add", "ingest", "--out", ca.file("svc2")])
        #expect(twice.status != 0)
        #expect(try ca.fleetctl(["service", "add", "bad/name", "--out", ca.file("svc3")]).status != 0)

        #expect(try ca.fleetctl(["revoke", "ingest"]).status == 0)
        #expect(try ca.verifyClient(out + "/cert.pem", crl: true).status != 0)
        let services = try jsonArray(ca.fleetctl(["service", "list", "--json"]).standardOutput)
        #expect(services.first?["state"] as? String == "revoked")
    }
}
