import Foundation
import TestSupport
import Testing

/// How the real `fleetctl` refuses what it cannot do: nothing reaches the inventory, the message names the
/// offending value, and the exit status tells a malformed command line (2) from a failed operation (1).
@Suite struct FleetctlRefusalTests {
    @Test(arguments: [["provision", "json-1", "--generate-key"], ["service", "add", "json-1"]])
    func anOutputFolderThatCannotBeCreatedStopsIssuanceBeforeAnythingIsCommitted(command: [String]) throws {
        let ca = try CATestHome()
        let before = try ca.inventoryCounts()
        let result = try ca.fleetctl(command + ["--out", "/proc/nope"])
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("'/proc/nope'"), "\(result)")
        #expect(!result.standardError.contains("in the inventory"), "\(result)")
        let after = try ca.inventoryCounts()
        #expect(after.certificates == before.certificates && after.audit == before.audit)
    }

    @Test func anExistingFolderThatCannotBeWrittenStopsProvisionAndRotate() throws {
        let ca = try CATestHome()
        #expect(try ca.fleetctl(["provision", "dev-1", "--generate-key", "--out", ca.file("b")]).status == 0)
        let before = try ca.inventoryCounts()
        // /proc/self exists and is a folder, and not even root can create a file in it.
        let provision = try ca.fleetctl(["provision", "dev-2", "--generate-key", "--out", "/proc/self"])
        #expect(provision.status == 1, "\(provision)")
        #expect(provision.standardError.contains("cannot write into the folder '/proc/self'"), "\(provision)")
        let rotate = try ca.fleetctl(["rotate", "dev-1", "--generate-key", "--out", "/proc/self"])
        #expect(rotate.status == 1, "\(rotate)")
        let after = try ca.inventoryCounts()
        #expect(after.certificates == before.certificates && after.audit == before.audit)
        let show = try jsonObject(ca.fleetctl(["show", "dev-1", "--json"]).standardOutput)
        #expect((show["certificates"] as? [Any])?.count == 1, "rotate superseded nothing")
    }

    @Test func aRevokedDeviceGetsNoRotationOrder() throws {
        let ca = try CATestHome()
        #expect(try ca.fleetctl(["provision", "dev-1", "--generate-key", "--out", ca.file("b")]).status == 0)
        #expect(try ca.fleetctl(["revoke", "dev-1"]).status == 0)
        let order = try ca.fleetctl(["rotate", "dev-1", "--online", "--wait", "1s"])
        #expect(order.status == 1, "\(order)")
        #expect(order.standardError.contains("device 'dev-1' is revoked"), "\(order)")
        #expect(try ca.fleetctl(["rotate", "nobody", "--online", "--wait", "1s"]).standardError
            .contains("no device 'nobody'"))
    }

    @Test func provisionFromFileChecksTheOutputFolderFirst() throws {
        let ca = try CATestHome()
        try "id\ncsv-1\ncsv-2\n".write(toFile: ca.file("devices.csv"), atomically: true, encoding: .utf8)
        let result = try ca.fleetctl(["provision", "--from", ca.file("devices.csv"), "--out", "/proc/nope"])
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("'/proc/nope'"), "\(result)")
        #expect(try ca.inventoryCounts().certificates == 0)
    }

    @Test func csvErrorsNameTheLineAndBothLinesOfADuplicate() throws {
        let ca = try CATestHome()
        let csv = ca.file("devices.csv")
        try """
        id,groups,attributes
        good-1,sensors,site=north
        good-2,,

        "bad/row",,
        good-1,,
        good-3,,nokey

        """.write(toFile: csv, atomically: true, encoding: .utf8)
        let result = try ca.fleetctl(["provision", "--from", csv, "--out", ca.file("out")])
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("\(csv):5: device id 'bad/row' may not contain '/'"), "\(result)")
        #expect(result.standardError.contains("\(csv):6: device id 'good-1' is already on line 2"), "\(result)")
        #expect(result.standardError.contains("\(csv):7: attribute 'nokey'"), "\(result)")
        #expect(try ca.inventoryCounts().certificates == 0)
        #expect(!FileManager.default.fileExists(atPath: ca.file("out")), "the folder made for the run is removed")
    }

    @Test func csvFollowsRFC4180Quoting() throws {
        let ca = try CATestHome()
        let csv = ca.file("quoted.csv")
        try "id,groups,attributes\r\n\"q-1\",\"a;b\",\"note=say \"\"hi\"\", then go\"\r\nq-2,plain,\"site=x,y\"\r\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let result = try ca.fleetctl(["provision", "--from", csv, "--out", ca.file("out")])
        #expect(result.status == 0, "\(result)")
        let first = try jsonObject(ca.fleetctl(["show", "q-1", "--json"]).standardOutput)
        #expect((first["groups"] as? [String]) == ["a", "b"])
        #expect((first["attributes"] as? [String: String]) == ["note": "say \"hi\", then go"])
        let second = try jsonObject(ca.fleetctl(["show", "q-2", "--json"]).standardOutput)
        #expect((second["attributes"] as? [String: String]) == ["site": "x,y"])

        try "id\n\"never-closed\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let unclosed = try ca.fleetctl(["provision", "--from", csv, "--out", ca.file("out2")])
        #expect(unclosed.status == 1)
        #expect(unclosed.standardError.contains("\(csv):2: the quoted field"), "\(unclosed)")
    }

    @Test func unreadableRequestsNameTheFileAndOpenSSLsReasonInWords() throws {
        let ca = try CATestHome()
        try "garbage\n".write(toFile: ca.file("garbage.csr"), atomically: true, encoding: .utf8)
        try "".write(toFile: ca.file("empty.csr"), atomically: true, encoding: .utf8)
        try Data([0x30, 0x82, 0x01, 0x00, 0x02, 0x01]).write(to: URL(fileURLWithPath: ca.file("junk.der")))
        for name in ["garbage.csr", "empty.csr", "junk.der"] {
            let result = try ca.fleetctl(["provision", "d-1", "--csr", ca.file(name), "--out", ca.file("b")])
            #expect(result.status == 1, "\(result)")
            #expect(result.standardError.contains("not a certificate signing request (PEM or DER)"), "\(result)")
            #expect(result.standardError.contains(name), "\(result)")
            #expect(!result.standardError.contains("error:0"), "no bare OpenSSL codes: \(result)")
        }
        let garbage = try ca.fleetctl(["provision", "d-1", "--csr", ca.file("garbage.csr"), "--out", ca.file("b")])
        #expect(garbage.standardError.contains("asn1") || garbage.standardError.contains("header"), "\(garbage)")

        let certificate = try ca.fleetctl(["provision", "d-1", "--csr", ca.rootPath, "--out", ca.file("b")])
        #expect(certificate.status == 1)
        #expect(certificate.standardError.contains("holds a certificate, not a certificate signing request"))

        let missing = try ca.fleetctl(["provision", "d-1", "--csr", ca.file("nonexist.csr"), "--out", ca.file("b")])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("'\(ca.file("nonexist.csr"))': No such file or directory"), "\(missing)")

        let revoke = try ca.fleetctl(["revoke", "--cert", ca.file("garbage.csr")])
        #expect(revoke.status == 1)
        #expect(revoke.standardError.contains("is not a PEM certificate"), "\(revoke)")
        #expect(!revoke.standardError.contains("cannot read"), "\(revoke)")
        #expect(!FileManager.default.fileExists(atPath: ca.file("b")))
    }

    @Test func malformedCommandLineValuesExitTwoAndNameTheValue() throws {
        let ca = try CATestHome()
        let out = ca.file("b")
        let cases: [([String], String)] = [
            (["provision", "a/b", "--generate-key", "--out", out], "'a/b'"),
            (["provision", "d-1", "--generate-key", "--out", out, "--group", "x/y"], "'x/y'"),
            (["provision", "d-1", "--generate-key", "--out", out, "--attr", "novalue"], "'novalue'"),
            (["provision", "d-1", "--generate-key", "--out", out, "--validity", "soon"], "'soon'"),
            (["rotate", "a#b", "--generate-key", "--out", out], "'a#b'"),
            (["service", "add", "svc/1", "--out", out], "'svc/1'"),
            (["revoke", "a+b"], "'a+b'"),
            (["revoke", "--serial", "zz"], "'zz'"),
            (["show", "a/b"], "'a/b'"),
            (["list", "--group", "x y"], "'x y'"),
            (["ca", "server-cert", "--ip", "300.1.1.1", "--out", out], "'300.1.1.1'"),
            (["ca", "server-cert", "--host", "bad host", "--out", out], "'bad host'"),
            (["provision", "d-1", "--generate-key", "--out", out, "--home", ""], "'--home'"),
            (["provision", "d-1", "--generate-key", "--out", ""], "'--out'"),
        ]
        for (arguments, quoted) in cases {
            let result = try ca.fleetctl(arguments)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.standardError.contains(quoted), "\(arguments): \(result)")
        }
        #expect(try ca.inventoryCounts().certificates == 0)
        #expect(!FileManager.default.fileExists(atPath: out))

        let folder = try TemporaryDirectory("fleet-init")
        for option in [["--broker-host", "bad host"], ["--crl-url", "ftp://x"], ["--issuer-url", "http://"]] {
            let result = try runCommand(
                builtProduct("fleetctl"), ["ca", "init", "--home", folder.file("ca")] + option)
            #expect(result.status == 2, "\(option): \(result)")
            #expect(result.standardError.contains(option[1]), "\(option): \(result)")
            #expect(!FileManager.default.fileExists(atPath: folder.file("ca")))
        }
    }

    @Test func anUnknownCommandIsAnErrorEvenWithHelp() throws {
        let result = try runCommand(builtProduct("fleetctl"), ["bogus", "--help"])
        #expect(result.status == 2, "\(result)")
        #expect(result.standardError.contains("unknown command 'bogus'"))
        let help = try runCommand(builtProduct("fleetctl"), ["--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("Exit status"))
        #expect(try runCommand(builtProduct("fleetctl"), ["ca", "--help"]).status == 0)
    }

    @Test func ingestReportRefusesAMissingDatabaseAndCreatesNothing() throws {
        let folder = try TemporaryDirectory("fleet-ingest")
        let path = folder.file("nonexist.db")
        let result = try runCommand(builtProduct("fleetctl"), ["ingest", "report", "--db", path])
        #expect(result.status == 1, "\(result)")
        #expect(result.standardError.contains("'\(path)'"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}
