import Foundation
import TestSupport
import Testing

@Suite struct CAInitTests {
    @Test func caInitWritesPrivateKeysAndInventoryAndLintCleanCertificates() throws {
        let ca = try CATestHome()
        for path in ["root/root.key", "issuing/issuing.key", "inventory.db"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: ca.home + "/" + path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(path)")
        }
        let chain = try runCommand("openssl", ["verify", "-x509_strict", "-CAfile", ca.rootPath, ca.issuingPath])
        #expect(chain.status == 0, "\(chain)")
        #expect(try pkilintErrors(ca.rootPath) == [])
        #expect(try pkilintErrors(ca.issuingPath) == [])
        #expect(try pkilintErrors(ca.crlPath, crl: true) == [])
    }

    @Test func caInitRefusesToTouchAnExistingCA() throws {
        let ca = try CATestHome()
        let before = try String(contentsOfFile: ca.rootPath, encoding: .utf8)
        let again = try ca.fleetctl(["ca", "init"])
        #expect(again.status != 0)
        #expect(again.standardError.contains("already exists"), "\(again)")
        #expect(try String(contentsOfFile: ca.rootPath, encoding: .utf8) == before)
    }

    @Test func encryptedCAKeysNeedThePassphraseToSign() throws {
        let folder = try TemporaryDirectory()
        let passphrase = folder.file("pass")
        try "a long passphrase\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        let ca = try CATestHome(["--passphrase-file", passphrase, "--key-type", "p384"])
        let key = try String(contentsOfFile: ca.home + "/issuing/issuing.key", encoding: .utf8)
        #expect(key.contains("ENCRYPTED PRIVATE KEY"))
        #expect(!key.contains("a long passphrase"))

        let without = try ca.fleetctl(["provision", "dev-1", "--generate-key", "--out", ca.file("b1")])
        #expect(without.status != 0)
        #expect(without.standardError.contains("--passphrase-file"), "\(without)")
        #expect(!FileManager.default.fileExists(atPath: ca.file("b1")))

        let with = try ca.fleetctl([
            "provision", "dev-1", "--generate-key", "--out", ca.file("b1"),
            "--passphrase-file", passphrase,
        ])
        #expect(with.status == 0, "\(with)")
        #expect(try ca.verifyClient(ca.file("b1/cert.pem")).status == 0)
    }

    @Test func rootKeyCanBeKeptOutsideTheCAHome() throws {
        let offline = try TemporaryDirectory()
        let ca = try CATestHome(["--root-key-out", offline.file("root.key")])
        #expect(!FileManager.default.fileExists(atPath: ca.home + "/root/root.key"))
        let attributes = try FileManager.default.attributesOfItem(atPath: offline.file("root.key"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let matches = try runCommand("openssl", ["x509", "-in", ca.rootPath, "-noout", "-pubkey"]).standardOutput
            == runCommand("openssl", ["pkey", "-in", offline.file("root.key"), "-pubout"]).standardOutput
        #expect(matches)
        let provisioned = try ca.fleetctl(["provision", "off-1", "--generate-key", "--out", ca.file("b")])
        #expect(provisioned.status == 0, "\(provisioned)")
        #expect(try ca.verifyClient(ca.file("b/cert.pem")).status == 0)
    }

    @Test func configuredCRLAndIssuerURLsAppearInDeviceCertificates() throws {
        let ca = try CATestHome([
            "--crl-url", "http://pki.example.com/fleet.crl", "--issuer-url", "http://pki.example.com/issuing.cer",
        ])
        #expect(try ca.fleetctl(["provision", "url-1", "--generate-key", "--out", ca.file("b")]).status == 0)
        let text = try runCommand("openssl", ["x509", "-in", ca.file("b/cert.pem"), "-noout", "-text"]).standardOutput
        #expect(text.contains("URI:http://pki.example.com/fleet.crl"))
        #expect(text.contains("CA Issuers - URI:http://pki.example.com/issuing.cer"))
        #expect(try pkilintErrors(ca.file("b/cert.pem")) == [])
        let bad = try failedCAInit(["--crl-url", "ldap://x, y"])
        #expect(bad.standardError.contains("must be an http(s) URL"), "\(bad)")
    }

    @Test func everyCommandAnswersHelp() throws {
        let ca = try CATestHome()
        let commands = [
            ["ca", "init"], ["ca", "server-cert"], ["provision"], ["rotate"], ["revoke"], ["list"], ["show"],
            ["crl"], ["audit"], ["service", "add"], ["service", "list"],
        ]
        for command in commands {
            let result = try ca.fleetctl(command + ["--help"])
            #expect(result.status == 0, "\(command): \(result)")
            #expect(result.standardOutput.contains("Usage: fleetctl \(command.joined(separator: " "))"), "\(command)")
        }
    }
}

/// Runs `ca init` expecting it to fail, and returns what it printed.
private func failedCAInit(_ arguments: [String]) throws -> CommandResult {
    let folder = try TemporaryDirectory("fleet-ca")
    let result = try runCommand(builtProduct("fleetctl"), ["ca", "init", "--home", folder.file("ca")] + arguments)
    #expect(result.status != 0)
    #expect(!FileManager.default.fileExists(atPath: folder.file("ca")))
    return result
}
