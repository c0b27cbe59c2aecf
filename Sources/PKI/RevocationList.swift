import COpenSSL
import CShim

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A certificate revocation list. Owns one `X509_CRL*` and frees it in `deinit`.
public final class RevocationList: @unchecked Sendable {  // the X509_CRL is never mutated after signing
    /// One revoked certificate as the CRL lists it.
    public struct Entry: Sendable, Equatable {
        public let serial: SerialNumber
        public let revokedAt: Date
        public let reason: RevocationReason

        public init(serial: SerialNumber, revokedAt: Date, reason: RevocationReason) {
            self.serial = serial
            self.revokedAt = revokedAt
            self.reason = reason
        }
    }

    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { X509_CRL_free(handle) }

    /// Reads a PEM CRL.
    public convenience init(pem: String) throws(PKIError) {
        ERR_clear_error()
        let bio = try MemoryBIO(Array(pem.utf8))
        guard let handle = PEM_read_bio_X509_CRL(bio.handle, nil, nil, nil) else {
            throw PKIError.openSSL("cannot read the CRL PEM")
        }
        self.init(owning: handle)
    }

    /// Builds and signs a v2 CRL with a CRL number, the issuer's AKI and a reason code per entry
    /// (none for `unspecified`, as RFC 5280 5.3.1 recommends).
    public static func build(
        issuer: Certificate, issuerKey: PrivateKey, number: Int64, thisUpdate: Date, nextUpdate: Date,
        entries: [Entry]
    ) throws(PKIError) -> RevocationList {
        ERR_clear_error()
        guard nextUpdate > thisUpdate else { throw PKIError("a CRL's nextUpdate must come after its thisUpdate") }
        guard number >= 0 else { throw PKIError("CRL number \(number) is negative") }
        guard let handle = X509_CRL_new() else { throw PKIError.openSSL("cannot allocate a CRL") }
        let list = RevocationList(owning: handle)
        let start = try ASN1Support.makeTime(thisUpdate)
        defer { ASN1_TIME_free(start) }
        let end = try ASN1Support.makeTime(nextUpdate)
        defer { ASN1_TIME_free(end) }
        guard X509_CRL_set_version(handle, 1) == 1,
            X509_CRL_set_issuer_name(handle, X509_get_subject_name(issuer.handle)) == 1,
            X509_CRL_set1_lastUpdate(handle, start) == 1, X509_CRL_set1_nextUpdate(handle, end) == 1
        else { throw PKIError.openSSL("cannot fill the CRL") }

        for entry in entries { try add(entry, to: handle) }
        _ = X509_CRL_sort(handle)

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer.handle, nil, nil, handle, 0)
        guard let authorityKey = X509V3_EXT_conf_nid(nil, &context, NID_authority_key_identifier, "keyid:always") else {
            throw PKIError.openSSL("cannot derive the CRL's authority key identifier")
        }
        defer { X509_EXTENSION_free(authorityKey) }
        guard X509_CRL_add_ext(handle, authorityKey, -1) == 1 else { throw PKIError.openSSL("cannot add the AKI") }
        guard let crlNumber = ASN1_INTEGER_new() else { throw PKIError.openSSL("out of memory") }
        defer { ASN1_INTEGER_free(crlNumber) }
        guard ASN1_INTEGER_set_int64(crlNumber, number) == 1,
            X509_CRL_add1_ext_i2d(handle, NID_crl_number, crlNumber, 0, 0) == 1
        else { throw PKIError.openSSL("cannot add the CRL number") }

        guard X509_CRL_sign(handle, issuerKey.handle, issuerKey.signingDigest) > 0 else {
            throw PKIError.openSSL("cannot sign the CRL")
        }
        return list
    }

    private static func add(_ entry: Entry, to handle: OpaquePointer) throws(PKIError) {
        guard let revoked = X509_REVOKED_new() else { throw PKIError.openSSL("out of memory") }
        let serial = try entry.serial.makeASN1Integer()
        defer { ASN1_INTEGER_free(serial) }
        let date = try ASN1Support.makeTime(entry.revokedAt)
        defer { ASN1_TIME_free(date) }
        guard X509_REVOKED_set_serialNumber(revoked, serial) == 1, X509_REVOKED_set_revocationDate(revoked, date) == 1
        else {
            X509_REVOKED_free(revoked)
            throw PKIError.openSSL("cannot fill the CRL entry for \(entry.serial)")
        }
        if entry.reason != .unspecified {
            guard let code = ASN1_ENUMERATED_new() else {
                X509_REVOKED_free(revoked)
                throw PKIError.openSSL("out of memory")
            }
            defer { ASN1_ENUMERATED_free(code) }
            guard ASN1_ENUMERATED_set(code, entry.reason.code) == 1,
                X509_REVOKED_add1_ext_i2d(revoked, NID_crl_reason, code, 0, 0) == 1
            else {
                X509_REVOKED_free(revoked)
                throw PKIError.openSSL("cannot add the reason for \(entry.serial)")
            }
        }
        guard X509_CRL_add0_revoked(handle, revoked) == 1 else {
            X509_REVOKED_free(revoked)
            throw PKIError.openSSL("cannot add the CRL entry for \(entry.serial)")
        }
    }

    /// The CRL as PEM.
    public var pem: String {
        get throws(PKIError) {
            let bio = try MemoryBIO()
            guard PEM_write_bio_X509_CRL(bio.handle, handle) == 1 else {
                throw PKIError.openSSL("cannot write the CRL")
            }
            return bio.text
        }
    }

    /// The CRL as DER.
    public var der: [UInt8] {
        get throws(PKIError) { try encodeDER { i2d_X509_CRL(handle, $0) } }
    }

    /// thisUpdate.
    public var thisUpdate: Date { ASN1Support.date(X509_CRL_get0_lastUpdate(handle)) ?? .distantPast }

    /// nextUpdate (distant past when absent, so an incomplete CRL always looks due).
    public var nextUpdate: Date { ASN1Support.date(X509_CRL_get0_nextUpdate(handle)) ?? .distantPast }

    /// The issuer in RFC 2253 form.
    public var issuer: String { ASN1Support.oneLine(X509_CRL_get_issuer(handle)) }

    /// The CRL number, when present.
    public var number: Int64? {
        guard let raw = X509_CRL_get_ext_d2i(handle, NID_crl_number, nil, nil) else { return nil }
        let integer = raw.assumingMemoryBound(to: ASN1_INTEGER.self)
        defer { ASN1_INTEGER_free(integer) }
        var value: Int64 = 0
        guard ASN1_INTEGER_get_int64(&value, integer) == 1 else { return nil }
        return value
    }

    /// The serials listed, in lowercase hexadecimal (as the CRL encodes them).
    public var revokedSerials: [String] {
        guard let stack = X509_CRL_get_REVOKED(handle) else { return [] }
        return (0..<fleet_sk_X509_REVOKED_num(stack)).compactMap { index in
            guard let revoked = fleet_sk_X509_REVOKED_value(stack, index) else { return nil }
            return try? SerialNumber.read(X509_REVOKED_get0_serialNumber(revoked), of: "a CRL entry").hex
        }
    }

    /// True when `issuer`'s key verifies this CRL's signature.
    public func isSigned(by issuer: Certificate) -> Bool {
        defer { ERR_clear_error() }
        guard let key = issuer.subjectKeyHandle else { return false }
        return X509_CRL_verify(handle, key) == 1
    }
}
