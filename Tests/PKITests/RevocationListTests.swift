import Foundation
import PKI
import TestSupport
import Testing

@Suite struct RevocationListTests {
    @Test func crlListsEntriesWithReasonsAndRevokesInOpenSSL() throws {
        let folder = try TemporaryDirectory()
        let fixture = try PKIFixture()
        let (_, revoked) = try fixture.device("bad")
        let (_, good) = try fixture.device("good")
        let now = Date()
        let list = try RevocationList.build(
            issuer: fixture.issuing, issuerKey: fixture.issuingKey, number: 7, thisUpdate: now,
            nextUpdate: now.addingTimeInterval(7 * 86_400),
            entries: [RevocationList.Entry(serial: revoked.serialNumber, revokedAt: now, reason: .keyCompromise)])
        #expect(list.number == 7)
        #expect(list.revokedSerials == [try revoked.serialNumber.hex])
        #expect(list.isSigned(by: fixture.issuing))
        #expect(!list.isSigned(by: fixture.root))
        #expect(abs(list.nextUpdate.timeIntervalSince(now) - 7 * 86_400) <= 1)

        let reread = try RevocationList(pem: list.pem)
        #expect(reread.number == 7)
        let text = try runCommand(
            "openssl", ["crl", "-noout", "-text", "-in", write(list.pem, "crl.pem", in: folder.path)])
        #expect(text.standardOutput.contains("Version 2"))
        #expect(text.standardOutput.contains("Key Compromise"))
        #expect(text.standardOutput.contains("Authority Key Identifier"))

        #expect(throws: PKIError.self) {
            try ChainVerifier.verify(
                revoked, intermediates: [fixture.issuing], roots: [fixture.root],
                crls: [list, rootCRL(fixture)])
        }
        try ChainVerifier.verify(
            good, intermediates: [fixture.issuing], roots: [fixture.root], crls: [list, rootCRL(fixture)])
    }

    @Test func unspecifiedReasonLeavesTheReasonCodeOut() throws {
        let folder = try TemporaryDirectory()
        let fixture = try PKIFixture()
        let (_, revoked) = try fixture.device("x")
        let list = try RevocationList.build(
            issuer: fixture.issuing, issuerKey: fixture.issuingKey, number: 1, thisUpdate: Date(),
            nextUpdate: Date().addingTimeInterval(3_600),
            entries: [RevocationList.Entry(serial: revoked.serialNumber, revokedAt: Date(), reason: .unspecified)])
        let text = try runCommand(
            "openssl", ["crl", "-noout", "-text", "-in", write(list.pem, "crl.pem", in: folder.path)])
        #expect(!text.standardOutput.contains("Reason Code"))
    }

    private func rootCRL(_ fixture: PKIFixture) throws -> RevocationList {
        try RevocationList.build(
            issuer: fixture.root, issuerKey: fixture.rootKey, number: 1, thisUpdate: Date(),
            nextUpdate: Date().addingTimeInterval(3_600), entries: [])
    }
}
