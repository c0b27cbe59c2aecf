import Foundation
import PKI

/// A two-tier hierarchy built in code with the PKI module alone, for tests.
struct PKIFixture {
    let rootKey: PrivateKey
    let root: Certificate
    let issuingKey: PrivateKey
    let issuing: Certificate

    init(
        keyType: KeyType = .p256, rootValidity: Int64 = 10 * 31_536_000, issuingValidity: Int64 = 5 * 31_536_000,
        now: Date = Date()
    ) throws {
        rootKey = try PrivateKey.generate(keyType)
        root = try CertificateBuilder.issue(
            CertificateTemplate(
                commonName: "Test Root CA", organization: "Test", profile: .rootAuthority,
                validitySeconds: rootValidity),
            subjectKey: rootKey.publicKey, issuer: nil, issuerKey: rootKey, serial: .random(), now: now)
        issuingKey = try PrivateKey.generate(keyType)
        issuing = try CertificateBuilder.issue(
            CertificateTemplate(
                commonName: "Test Issuing CA", organization: "Test", profile: .issuingAuthority,
                validitySeconds: issuingValidity),
            subjectKey: issuingKey.publicKey, issuer: root, issuerKey: rootKey, serial: .random(), now: now)
    }

    /// A device certificate for `id` with a fresh key of `keyType`.
    func device(_ id: String, keyType: KeyType = .p256, validity: Int64 = 86_400, now: Date = Date()) throws
        -> (PrivateKey, Certificate)
    {
        let key = try PrivateKey.generate(keyType)
        let certificate = try CertificateBuilder.issue(
            CertificateTemplate(
                commonName: id, profile: .client, uris: ["urn:fleet:device:\(id)"], validitySeconds: validity),
            subjectKey: key.publicKey, issuer: issuing, issuerKey: issuingKey, serial: .random(), now: now)
        return (key, certificate)
    }
}

/// Writes `text` to a file in `folder` and returns its path.
func write(_ text: String, _ name: String, in folder: String) throws -> String {
    let path = folder + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
