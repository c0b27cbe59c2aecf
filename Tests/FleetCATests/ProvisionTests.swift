import Foundation
import TestSupport
import Testing

@Suite struct ProvisionTests {
    @Test(arguments: ["p256", "rsa2048", "ed25519"])
    func requestsFromOpenSSLAndPythonAreAcceptedAndVerifyStrictly(kind: String) throws {
        let ca = try CATestHome()
        let keyArguments = [
            "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "rsa2048": ["-newkey", "rsa:2048"], "ed25519": ["-newkey", "ed25519"],
        ][kind]!
        let requests = [
            ("ossl-\(kind)", try ca.opensslRequest("o", subject: "/CN=ossl-\(kind)", keyArguments: keyArguments)),
            ("py-\(kind)", try ca.pythonRequest("p", commonName: "py-\(kind)", kind: kind)),
        ]
        for (id, csr) in requests {
            let out = ca.file("bundle-\(id)")
            let result = try ca.fleetctl(["provision", id, "--csr", csr, "--out", out, "--group", "sensors", "--json"])
            #expect(result.status == 0, "\(result)")
            let bundle = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
            #expect(
                // The recovery credential (docs/renewal.md) is the only key the CA makes for such a device.
                bundle == ["agent.json", "cert.pem", "chain.pem", "recovery-cert.pem", "recovery-key.pem", "root.pem"],
                "no key.pem when the device made its key"
            )
            let verified = try ca.verifyClient(out + "/cert.pem")
            #expect(verified.status == 0, "\(verified)")
            #expect(try pkilintErrors(out + "/cert.pem") == [])
            let agent = try jsonObject(String(contentsOfFile: out + "/agent.json", encoding: .utf8))
            #expect(agent["device"] as? String == id)
            // The fleet's consumer sends delivery receipts, so records wait for them (docs/receipts.md).
            #expect((agent["delivery"] as? [String: Any])?["confirm"] as? String == "consumer")
        }
    }

    @Test func generatedKeyBundleHasAPrivateKeyAndMatchingCertificate() throws {
        let ca = try CATestHome()
        let out = ca.file("b")
        let result = try ca.fleetctl(["provision", "gen-1", "--generate-key", "--out", out, "--attr", "site=north"])
        #expect(result.status == 0, "\(result)")
        let attributes = try FileManager.default.attributesOfItem(atPath: out + "/key.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let certificateKey = try runCommand("openssl", ["x509", "-in", out + "/cert.pem", "-noout", "-pubkey"])
        let privateKey = try runCommand("openssl", ["pkey", "-in", out + "/key.pem", "-pubout"])
        #expect(certificateKey.standardOutput == privateKey.standardOutput)
        let text = try runCommand("openssl", ["x509", "-in", out + "/cert.pem", "-noout", "-text"]).standardOutput
        #expect(text.contains("URI:urn:fleet:device:gen-1"))
        #expect(text.contains("TLS Web Client Authentication"))
        let chain = try String(contentsOfFile: out + "/chain.pem", encoding: .utf8)
        #expect(chain == (try String(contentsOfFile: ca.issuingPath, encoding: .utf8)))

        let show = try jsonObject(ca.fleetctl(["show", "gen-1", "--json"]).standardOutput)
        #expect((show["attributes"] as? [String: String]) == ["site": "north"])
        #expect(show["state"] as? String == "active")
    }

    @Test func refusedRequestsAndIdsWriteNothing() throws {
        let ca = try CATestHome()
        let p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        let weak = try ca.opensslRequest("weak", subject: "/CN=weak", keyArguments: ["-newkey", "rsa:1024"])
        let mismatch = try ca.opensslRequest("mismatch", subject: "/CN=someone-else", keyArguments: p256)
        let asksCA = try ca.opensslRequest(
            "ca", subject: "/CN=sneaky", keyArguments: p256,
            extra: ["-addext", "basicConstraints=critical,CA:TRUE"])
        let sanOnly = try ca.opensslRequest(
            "san", subject: "/", keyArguments: p256,
            extra: ["-addext", "subjectAltName=URI:urn:fleet:device:nameless"])
        let good = try ca.opensslRequest("good", subject: "/CN=broken", keyArguments: p256, extra: ["-outform", "DER"])
        var der = try Array(Data(contentsOf: URL(fileURLWithPath: good)))
        der[der.count - 1] ^= 0x01
        let broken = ca.file("broken.der")
        try Data(der).write(to: URL(fileURLWithPath: broken))

        let cases: [(id: String, arguments: [String], reason: String)] = [
            ("weak", ["--csr", weak], "1024 bits"),
            ("broken", ["--csr", broken], "signature does not verify"),
            ("mismatch", ["--csr", mismatch], "CN 'someone-else' differs from the id 'mismatch'"),
            ("sneaky", ["--csr", asksCA], "CA:TRUE"),
            ("nameless", ["--csr", sanOnly], "empty subject"),  // K05
            ("a/b", ["--generate-key"], "may not contain '/'"),
            ("dev+1", ["--generate-key"], "may not contain '+'"),
            ("dev#", ["--generate-key"], "may not contain '#'"),
            ("..", ["--generate-key"], "device id '..'"),
            (String(repeating: "x", count: 65), ["--generate-key"], "65 characters long; the limit is 64"),
        ]
        let before = try ca.inventoryCounts()
        for (index, item) in cases.enumerated() {
            let out = ca.file("refused-\(index)")
            let result = try ca.fleetctl(["provision", item.id, "--out", out] + item.arguments)
            #expect(result.status != 0, "\(item.id) was accepted")
            #expect(result.standardError.contains(item.reason), "\(item.id): \(result.standardError)")
            #expect(result.standardError.hasPrefix("fleetctl: "), "one sentence, not a trace: \(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(item.id) wrote a bundle")
        }
        let after = try ca.inventoryCounts()
        #expect(after.certificates == before.certificates)
        #expect(after.audit == before.audit)
        #expect(try ca.fleetctl(["show", "mismatch"]).status != 0)
    }

    @Test func csvProvisioningCommitsEveryRowWithGroupsAndRequests() throws {
        let ca = try CATestHome()
        let csr = try ca.opensslRequest("row2", subject: "/CN=csv-2", keyArguments: ["-newkey", "ed25519"])
        let csv = ca.file("devices.csv")
        try """
        id,groups,attributes,csr
        csv-1,lobby;sensors,site=a,
        csv-2,sensors,,\(URL(fileURLWithPath: csr).lastPathComponent)
        csv-3,,site=b;floor=2,

        """.write(toFile: csv, atomically: true, encoding: .utf8)
        let result = try ca.fleetctl([
            "provision", "--from", csv, "--out", ca.file("bundles"), "--batch", "2", "--json",
        ])
        #expect(result.status == 0, "\(result)")
        #expect(try jsonObject(result.standardOutput)["provisioned"] as? Int == 3)
        for id in ["csv-1", "csv-2", "csv-3"] {
            #expect(try ca.verifyClient(ca.file("bundles/\(id)/cert.pem")).status == 0)
        }
        #expect(!FileManager.default.fileExists(atPath: ca.file("bundles/csv-2/key.pem")))
        let sensors = try jsonArray(ca.fleetctl(["list", "--group", "sensors", "--json"]).standardOutput)
        #expect(Set(sensors.compactMap { $0["subject"] as? String }) == ["csv-1", "csv-2"])

        let again = try ca.fleetctl(["provision", "--from", csv, "--out", ca.file("bundles2")])
        #expect(again.status != 0, "re-provisioning existing devices must fail")
        // Every row is checked against the inventory before anything is written, each named by its line.
        #expect(again.standardError.contains("devices.csv:2: device 'csv-1' is already in the inventory"), "\(again)")
    }

    @Test func csvWithABadRowIsRefusedBeforeAnythingIsWritten() throws {
        let ca = try CATestHome()
        let csv = ca.file("devices.csv")
        try "id,groups\nfine-1,a\nbad/2,a\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let result = try ca.fleetctl(["provision", "--from", csv, "--out", ca.file("bundles")])
        #expect(result.status != 0)
        #expect(result.standardError.contains("'bad/2' may not contain '/'"), "\(result)")
        #expect(try ca.fleetctl(["show", "fine-1"]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: ca.file("bundles")))
    }

    @Test func rotateSupersedesThePreviousCertificate() throws {
        let ca = try CATestHome()
        let out = ca.file("b")
        #expect(try ca.fleetctl(["provision", "rot-1", "--generate-key", "--out", out]).status == 0)
        let first = try String(contentsOfFile: out + "/cert.pem", encoding: .utf8)
        let csr = try ca.opensslRequest(
            "rot", subject: "/CN=rot-1", keyArguments: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let rotated = try ca.fleetctl(["rotate", "rot-1", "--csr", csr, "--out", out, "--json"])
        #expect(rotated.status == 0, "\(rotated)")
        #expect(try String(contentsOfFile: out + "/cert.pem", encoding: .utf8) != first)
        #expect(
            !FileManager.default.fileExists(atPath: out + "/key.pem"),
            "a stale key must not sit beside the new certificate")
        let show = try jsonObject(ca.fleetctl(["show", "rot-1", "--json"]).standardOutput)
        let states = (show["certificates"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(states == ["active", "superseded"])
        let unknown = try ca.fleetctl(["rotate", "nobody", "--generate-key", "--out", ca.file("n")])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("no device 'nobody'"))
    }

    @Test func listFindsCertificatesExpiringSoonAndAuditShowsRecentRecords() throws {
        let ca = try CATestHome()
        let soon = try ca.fleetctl(["provision", "soon", "--generate-key", "--validity", "1d", "--out", ca.file("a")])
        #expect(soon.status == 0)
        #expect(try ca.fleetctl(["provision", "later", "--generate-key", "--out", ca.file("b")]).status == 0)
        let expiring = try jsonArray(ca.fleetctl(["list", "--expiring-within", "2d", "--json"]).standardOutput)
        #expect(expiring.map { $0["subject"] as? String } == ["soon"])
        let table = try ca.fleetctl(["list"])
        #expect(table.standardOutput.contains("later") && table.standardOutput.contains("soon"))
        let bad = try ca.fleetctl(["list", "--state", "sleeping"])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("'sleeping' is not a state"))
        let recent = try jsonArray(ca.fleetctl(["audit", "--since", "1h", "--json"]).standardOutput)
        #expect(recent.compactMap { $0["action"] as? String }.filter { $0 == "device.provision" }.count == 2)
    }
}
