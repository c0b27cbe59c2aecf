import Foundation
import PKI
import TestSupport
import Testing

@Suite struct PrivateKeyTests {
    @Test(arguments: [KeyType.p256, .p384, .rsa(bits: 2048), .ed25519])
    func generatedKeysRoundTripThroughPEM(type: KeyType) throws {
        let key = try PrivateKey.generate(type)
        #expect(key.keyDescription == type.name)
        let again = try PrivateKey(pem: key.pem())
        #expect(try again.publicKeyPEM == key.publicKeyPEM)
    }

    @Test func weakRSAKeysAreNeverGenerated() throws {
        #expect(KeyType(name: "rsa1024") == nil)
        #expect(throws: PKIError.self) { try PrivateKey.generate(.rsa(bits: 1024)) }
    }

    @Test func encryptedKeyNeedsItsPassphraseAndNeverLeaksIt() throws {
        let key = try PrivateKey.generate(.p256)
        let pem = try key.pem(passphrase: "correct horse battery")
        #expect(pem.contains("ENCRYPTED PRIVATE KEY"))
        let again = try PrivateKey(pem: pem, passphrase: "correct horse battery")
        #expect(try again.publicKeyPEM == key.publicKeyPEM)

        let wrong = #expect(throws: PKIError.self) { try PrivateKey(pem: pem, passphrase: "wrong passphrase") }
        #expect(wrong?.message.contains("wrong passphrase?") == true)
        #expect(wrong?.message.contains("wrong passphrase\"") != true)
        let missing = #expect(throws: PKIError.self) { try PrivateKey(pem: pem) }
        #expect(missing?.message.contains("encrypted") == true)
    }

    @Test func encryptedKeyOpensWithOpenSSL() throws {
        let folder = try TemporaryDirectory()
        let key = try PrivateKey.generate(.p256)
        let path = try write(key.pem(passphrase: "s3cret-pass"), "key.pem", in: folder.path)
        let result = try runCommand("openssl", ["pkey", "-in", path, "-passin", "pass:s3cret-pass", "-pubout"])
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput == (try key.publicKeyPEM))
    }

    @Test func unreadableKeyErrorCarriesOpenSSLReasonNotKeyBytes() throws {
        let error = #expect(throws: PKIError.self) {
            try PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        }
        #expect(error?.message.hasPrefix("cannot read the private key PEM") == true)
        #expect(error?.message.contains("AAAA") == false)
    }
}
