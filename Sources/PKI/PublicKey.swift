import COpenSSL

/// A public key taken from a certificate request or a private key. Owns one reference to an
/// `EVP_PKEY*` (taken with `EVP_PKEY_up_ref`) and drops it in `deinit`.
public final class PublicKey: @unchecked Sendable {  // the EVP_PKEY is never mutated after init
    let handle: OpaquePointer
    /// The request this key was read from, kept so a certificate can copy its encoded SubjectPublicKeyInfo.
    let request: CertificateSigningRequest?

    /// Takes a new reference to `handle`.
    init(retaining handle: OpaquePointer, request: CertificateSigningRequest? = nil) {
        EVP_PKEY_up_ref(handle)
        self.handle = handle
        self.request = request
    }

    deinit { EVP_PKEY_free(handle) }

    /// The key's kind (`p256`, `rsa2048`, `ed25519`, ...).
    public var keyDescription: String { PrivateKey.describe(handle) }

    /// The key as a PEM SubjectPublicKeyInfo.
    public var pem: String {
        get throws(PKIError) { try PrivateKey.publicKeyPEM(handle) }
    }

    /// Throws unless the key is one this project accepts (see `PrivateKey.checkStrength`).
    public func checkStrength(of what: String) throws(PKIError) { try PrivateKey.checkStrength(handle, of: what) }
}

extension PrivateKey {
    /// The public half of this key.
    public var publicKey: PublicKey { PublicKey(retaining: handle) }
}
