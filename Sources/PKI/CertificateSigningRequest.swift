import COpenSSL
import CShim

/// A PKCS#10 certificate signing request. Owns one `X509_REQ*` and frees it in `deinit`.
///
/// Parsing a request checks nothing; `validate()` checks its self-signature and key strength.
/// What a request asks for in extensions is reported (`requestsCertificateAuthority`) but never copied
/// into a certificate: the CA decides every extension.
public final class CertificateSigningRequest: @unchecked Sendable {  // the X509_REQ is never mutated after init
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { X509_REQ_free(handle) }

    /// Reads a PEM request (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`).
    public convenience init(pem: String) throws(PKIError) {
        ERR_clear_error()
        let bio = try MemoryBIO(Array(pem.utf8))
        guard let handle = PEM_read_bio_X509_REQ(bio.handle, nil, nil, nil) else {
            throw PKIError.openSSL("cannot read the certificate signing request PEM")
        }
        self.init(owning: handle)
    }

    /// Reads a DER request.
    public convenience init(der: [UInt8]) throws(PKIError) {
        ERR_clear_error()
        guard let handle = decodeDER(der, { d2i_X509_REQ(nil, $0, $1) }) else {
            throw PKIError.openSSL("cannot read the DER certificate signing request")
        }
        self.init(owning: handle)
    }

    /// Makes a request for `commonName` signed by `key` (what a device does before enrolling or renewing).
    public static func create(key: PrivateKey, commonName: String, uris: [String] = []) throws(PKIError)
        -> CertificateSigningRequest
    {
        guard let handle = X509_REQ_new() else { throw PKIError.openSSL("cannot allocate a request") }
        let request = CertificateSigningRequest(owning: handle)
        let name = try ASN1Support.makeName(commonName: commonName)
        defer { X509_NAME_free(name) }
        guard X509_REQ_set_version(handle, 0) == 1, X509_REQ_set_subject_name(handle, name) == 1,
            X509_REQ_set_pubkey(handle, key.handle) == 1
        else { throw PKIError.openSSL("cannot fill the request") }
        if !uris.isEmpty {
            guard let extensions = fleet_sk_X509_EXTENSION_new_null() else { throw PKIError.openSSL("out of memory") }
            defer { fleet_sk_X509_EXTENSION_pop_free(extensions) }
            let value = uris.map { "URI:\($0)" }.joined(separator: ",")
            guard let ext = X509V3_EXT_conf_nid(nil, nil, NID_subject_alt_name, value) else {
                throw PKIError.openSSL("cannot encode the requested names \(uris)")
            }
            _ = fleet_sk_X509_EXTENSION_push(extensions, ext)
            guard X509_REQ_add_extensions(handle, extensions) == 1 else {
                throw PKIError.openSSL("cannot add extensions")
            }
        }
        guard X509_REQ_sign(handle, key.handle, key.signingDigest) > 0 else {
            throw PKIError.openSSL("cannot sign the request")
        }
        return request
    }

    /// The request as PEM.
    public var pem: String {
        get throws(PKIError) {
            let bio = try MemoryBIO()
            guard PEM_write_bio_X509_REQ(bio.handle, handle) == 1 else {
                throw PKIError.openSSL("cannot write a request")
            }
            return bio.text
        }
    }

    /// The request as DER.
    public var der: [UInt8] {
        get throws(PKIError) { try encodeDER { i2d_X509_REQ(handle, $0) } }
    }

    /// The subject's common names (normally exactly one).
    public var subjectCommonNames: [String] { ASN1Support.commonNames(X509_REQ_get_subject_name(handle)) }

    /// True when the subject holds no attribute at all.
    public var hasEmptySubject: Bool { ASN1Support.entryCount(X509_REQ_get_subject_name(handle)) == 0 }

    /// The subject in RFC 2253 form.
    public var subject: String { ASN1Support.oneLine(X509_REQ_get_subject_name(handle)) }

    /// The public key the request carries.
    public var publicKey: PublicKey {
        get throws(PKIError) {
            guard let key = X509_REQ_get0_pubkey(handle) else {
                throw PKIError.openSSL("the certificate signing request has no readable public key")
            }
            return PublicKey(retaining: key, request: self)
        }
    }

    /// True when the request carries a basicConstraints extension asking for CA:TRUE.
    public var requestsCertificateAuthority: Bool {
        guard let extensions = X509_REQ_get_extensions(handle) else {
            ERR_clear_error()
            return false
        }
        defer { fleet_sk_X509_EXTENSION_pop_free(extensions) }
        guard let raw = X509V3_get_d2i(extensions, NID_basic_constraints, nil, nil) else { return false }
        let constraints = raw.assumingMemoryBound(to: BASIC_CONSTRAINTS.self)
        defer { BASIC_CONSTRAINTS_free(constraints) }
        return constraints.pointee.ca != 0
    }

    /// Checks that the self-signature verifies with the request's own key and that the key is strong enough.
    public func validate() throws(PKIError) {
        ERR_clear_error()
        guard let key = X509_REQ_get0_pubkey(handle) else {
            throw PKIError.openSSL("the certificate signing request has no readable public key")
        }
        try PrivateKey.checkStrength(key, of: "the certificate signing request")
        var digest: Int32 = 0
        var algorithm: Int32 = 0
        let signature = X509_REQ_get_signature_nid(handle)
        if OBJ_find_sigid_algs(signature, &digest, &algorithm) == 1, [NID_md5, NID_md4, NID_sha1].contains(digest) {
            throw PKIError("the certificate signing request is signed with \(String(cString: OBJ_nid2sn(signature))), "
                + "a weak digest; sign it with SHA-256 or better")
        }
        guard X509_REQ_verify(handle, key) == 1 else {
            throw PKIError.openSSL("the certificate signing request's signature does not verify (was it altered?)")
        }
    }
}
