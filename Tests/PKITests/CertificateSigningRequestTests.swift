import Foundation
import PKI
import TestSupport
import Testing

@Suite struct CertificateSigningRequestTests {
    @Test func requestMadeHereValidatesAndNamesItsSubject() throws {
        let key = try PrivateKey.generate()
        let request = try CertificateSigningRequest.create(
            key: key, commonName: "dev-1", uris: ["urn:fleet:device:dev-1"])
        try request.validate()
        #expect(request.subjectCommonNames == ["dev-1"])
        #expect(!request.requestsCertificateAuthority)
        let again = try CertificateSigningRequest(pem: request.pem)
        #expect(try again.publicKey.pem == key.publicKeyPEM)
    }

    @Test func alteredSignatureIsRefused() throws {
        let request = try CertificateSigningRequest.create(key: PrivateKey.generate(), commonName: "dev-1")
        var der = try request.der
        der[der.count - 1] ^= 0x01
        let broken = try CertificateSigningRequest(der: der)
        let error = #expect(throws: PKIError.self) { try broken.validate() }
        #expect(error?.message.contains("signature does not verify") == true)
    }

    @Test func weakRSAKeyRequestFromOpenSSLIsRefused() throws {
        let folder = try TemporaryDirectory()
        let made = try runCommand(
            "openssl",
            [
                "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", folder.file("k.pem"), "-subj", "/CN=weak",
                "-out", folder.file("r.pem"),
            ])
        #expect(made.status == 0, "\(made)")
        let request = try CertificateSigningRequest(pem: String(contentsOfFile: folder.file("r.pem"), encoding: .utf8))
        let error = #expect(throws: PKIError.self) { try request.validate() }
        #expect(error?.message.contains("1024 bits") == true)
    }

    @Test func requestAskingForCAIsRecognised() throws {
        let folder = try TemporaryDirectory()
        let made = try runCommand(
            "openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                folder.file("k.pem"),
                "-subj", "/CN=sneaky", "-addext", "basicConstraints=critical,CA:TRUE", "-out", folder.file("r.pem"),
            ])
        #expect(made.status == 0, "\(made)")
        let request = try CertificateSigningRequest(pem: String(contentsOfFile: folder.file("r.pem"), encoding: .utf8))
        try request.validate()
        #expect(request.requestsCertificateAuthority)
    }

    @Test func garbageIsRefusedWithOpenSSLsReason() throws {
        let error = #expect(throws: PKIError.self) { try CertificateSigningRequest(pem: "not a request") }
        #expect(error?.message.hasPrefix("cannot read the certificate signing request PEM") == true)
    }

    @Test func derJunkIsRefusedWithOpenSSLsReasonInWordsNotCodes() throws {
        let error = #expect(throws: PKIError.self) {
            try CertificateSigningRequest(der: [0x04, 0x03, 0x01, 0x02, 0x03])
        }
        let message = error?.message ?? ""
        #expect(message.contains("wrong tag"), "\(message)")
        #expect(!message.contains("error:0"), "a bare OpenSSL code: \(message)")
    }

    @Test func smallRSAExponentAndSHA1SignatureAreRefused() throws {
        let folder = try TemporaryDirectory()
        let exponent3 = try runCommand("openssl", [
            "req", "-new", "-newkey", "rsa:2048", "-pkeyopt", "rsa_keygen_pubexp:3", "-nodes", "-keyout",
            folder.file("k3.pem"), "-subj", "/CN=e3", "-out", folder.file("e3.pem"),
        ])
        #expect(exponent3.status == 0, "\(exponent3)")
        let smallExponent = try CertificateSigningRequest(
            pem: String(contentsOfFile: folder.file("e3.pem"), encoding: .utf8))
        let exponentError = #expect(throws: PKIError.self) { try smallExponent.validate() }
        #expect(exponentError?.message.contains("public exponent 3") == true)

        let sha1 = try runCommand("openssl", [
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1", "-nodes", "-keyout",
            folder.file("k1.pem"), "-subj", "/CN=sha1", "-out", folder.file("sha1.pem"),
        ])
        #expect(sha1.status == 0, "\(sha1)")
        let weakDigest = try CertificateSigningRequest(
            pem: String(contentsOfFile: folder.file("sha1.pem"), encoding: .utf8))
        let digestError = #expect(throws: PKIError.self) { try weakDigest.validate() }
        #expect(digestError?.message.contains("weak digest") == true)
    }
}
