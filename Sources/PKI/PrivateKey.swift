import COpenSSL
import CShim

/// A private key (and its public half). Owns one `EVP_PKEY*` and frees it in `deinit`.
///
/// The key's bytes leave this type only through `pem(passphrase:)`; no description, error or log
/// line ever contains them.
public final class PrivateKey: @unchecked Sendable {  // the EVP_PKEY is never mutated after init
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { EVP_PKEY_free(handle) }

    /// Generates a fresh key of `type` from OpenSSL's CSPRNG.
    public static func generate(_ type: KeyType = .p256) throws(PKIError) -> PrivateKey {
        let algorithm: String
        switch type {
        case .p256, .p384: algorithm = "EC"
        case .rsa: algorithm = "RSA"
        case .ed25519: algorithm = "ED25519"
        }
        if case .rsa(let bits) = type, bits < 2048 {
            throw PKIError("refusing to generate an RSA key of \(bits) bits; the minimum is 2048")
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw PKIError.openSSL("cannot start \(type) key generation")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw PKIError.openSSL("cannot start \(type) key generation") }
        switch type {
        case .p256: guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else { throw PKIError.openSSL("no P-256") }
        case .p384: guard EVP_PKEY_CTX_set_group_name(context, "P-384") == 1 else { throw PKIError.openSSL("no P-384") }
        case .rsa(let bits):
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1 else {
                throw PKIError.openSSL("cannot set RSA key size \(bits)")
            }
        case .ed25519: break
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else {
            throw PKIError.openSSL("cannot generate a \(type) key")
        }
        return PrivateKey(owning: key)
    }

    /// Reads a PEM private key (PKCS#8, traditional, or encrypted PKCS#8 when `passphrase` is given).
    public convenience init(pem: String, passphrase: String? = nil) throws(PKIError) {
        ERR_clear_error()
        let bio = try MemoryBIO(Array(pem.utf8))
        let isEncrypted = pem.contains("ENCRYPTED")
        if isEncrypted && passphrase == nil {
            throw PKIError("the private key is encrypted; give its passphrase (--passphrase-file)")
        }
        // With no callback, OpenSSL takes the user pointer as a NUL-terminated passphrase.
        var secret = Array((passphrase ?? "").utf8CString)
        defer { for index in secret.indices { secret[index] = 0 } }
        let key = secret.withUnsafeMutableBufferPointer { buffer in
            PEM_read_bio_PrivateKey(bio.handle, nil, nil, isEncrypted ? buffer.baseAddress : nil)
        }
        guard let key else {
            let reason =
                isEncrypted
                ? "cannot read the encrypted private key (wrong passphrase?)"
                : "cannot read the private key PEM"
            throw PKIError.openSSL(reason)
        }
        self.init(owning: key)
    }

    /// The key as PEM PKCS#8; encrypted with AES-256-CBC under `passphrase` when one is given.
    public func pem(passphrase: String? = nil) throws(PKIError) -> String {
        let bio = try MemoryBIO()
        let status: Int32
        if let passphrase {
            guard !passphrase.isEmpty else {
                throw PKIError("refusing to encrypt a private key with an empty passphrase")
            }
            var secret = Array(passphrase.utf8)
            defer { for index in secret.indices { secret[index] = 0 } }
            status = secret.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    PEM_write_bio_PKCS8PrivateKey(
                        bio.handle, handle, EVP_aes_256_cbc(), $0, Int32(buffer.count), nil, nil)
                }
            }
        } else {
            status = PEM_write_bio_PKCS8PrivateKey(bio.handle, handle, nil, nil, 0, nil, nil)
        }
        guard status == 1 else { throw PKIError.openSSL("cannot write the private key") }
        return bio.text
    }

    /// The public key as a PEM SubjectPublicKeyInfo.
    public var publicKeyPEM: String {
        get throws(PKIError) { try PrivateKey.publicKeyPEM(handle) }
    }

    /// The kind of this key, or a description when it is none that `KeyType` names.
    public var keyDescription: String { PrivateKey.describe(handle) }

    /// True when this key's public half is the public key in `certificate`.
    public func matches(_ certificate: Certificate) -> Bool {
        guard let other = certificate.subjectKeyHandle else { return false }
        return EVP_PKEY_eq(handle, other) == 1
    }

    /// The digest used with this key when signing: none for Ed25519, SHA-384 for P-384, else SHA-256.
    var signingDigest: OpaquePointer? {
        switch EVP_PKEY_get_base_id(handle) {
        case EVP_PKEY_ED25519, EVP_PKEY_ED448: return nil
        case EVP_PKEY_EC where PrivateKey.groupName(handle) == "secp384r1": return EVP_sha384()
        case EVP_PKEY_EC where PrivateKey.groupName(handle) == "secp521r1": return EVP_sha512()
        default: return EVP_sha256()
        }
    }

    /// Refuses public keys this project does not accept: RSA below 2048 bits, curves other than
    /// P-256/P-384/P-521, and any other algorithm than RSA, ECDSA, Ed25519 and Ed448.
    static func checkStrength(_ key: OpaquePointer, of what: String) throws(PKIError) {
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA:
            let bits = EVP_PKEY_get_bits(key)
            guard bits >= 2048 else {
                throw PKIError("\(what) has an RSA key of \(bits) bits; the minimum accepted is 2048")
            }
            var exponent: OpaquePointer?
            guard EVP_PKEY_get_bn_param(key, "e", &exponent) == 1, let exponent else {
                throw PKIError.openSSL("\(what) has an RSA key whose public exponent cannot be read")
            }
            defer { BN_free(exponent) }
            guard BN_is_odd(exponent) == 1, BN_num_bits(exponent) > 16 else {
                let text = BN_bn2dec(exponent).map { pointer in
                    defer { fleet_OPENSSL_free(pointer) }
                    return String(cString: pointer)
                } ?? "?"
                throw PKIError("\(what) has an RSA key with public exponent \(text); at least 65537 is required")
            }
        case EVP_PKEY_EC:
            let group = groupName(key) ?? "an unnamed curve"
            guard ["prime256v1", "secp384r1", "secp521r1"].contains(group) else {
                throw PKIError("\(what) has an EC key on \(group); accepted curves are P-256, P-384 and P-521")
            }
        case EVP_PKEY_ED25519, EVP_PKEY_ED448:
            break
        default:
            throw PKIError(
                "\(what) has a key of type \(describe(key)), which is not accepted; use P-256, RSA 2048+ or Ed25519")
        }
    }

    static func groupName(_ key: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func describe(_ key: OpaquePointer) -> String {
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA: return "rsa\(EVP_PKEY_get_bits(key))"
        case EVP_PKEY_EC:
            switch groupName(key) {
            case "prime256v1": return "p256"
            case "secp384r1": return "p384"
            case "secp521r1": return "p521"
            case let other: return "ec-\(other ?? "unknown")"
            }
        case EVP_PKEY_ED25519: return "ed25519"
        case EVP_PKEY_ED448: return "ed448"
        case let other:
            guard let name = OBJ_nid2sn(other) else { return "unknown" }
            return String(cString: name)
        }
    }

    static func publicKeyPEM(_ key: OpaquePointer) throws(PKIError) -> String {
        let bio = try MemoryBIO()
        guard PEM_write_bio_PUBKEY(bio.handle, key) == 1 else { throw PKIError.openSSL("cannot write a public key") }
        return bio.text
    }
}
