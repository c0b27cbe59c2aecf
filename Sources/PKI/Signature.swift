import COpenSSL

/// Signatures over arbitrary bytes with a certificate's key: what a device uses to prove it holds the
/// key of its current certificate when it asks for a new one.
///
/// ECDSA and RSA keys sign a SHA-256 digest; Ed25519 signs the message itself (OpenSSL's one-shot
/// `EVP_DigestSign` with no digest), so one call covers every key type this project accepts.
public enum Signature {
    /// Signs `message` with `key`.
    public static func sign(_ message: [UInt8], with key: PrivateKey) throws(PKIError) -> [UInt8] {
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { throw PKIError.openSSL("out of memory") }
        defer { EVP_MD_CTX_free(context) }
        let digest = EVP_PKEY_is_a(key.handle, "ED25519") == 1 ? nil : EVP_sha256()
        guard EVP_DigestSignInit(context, nil, digest, nil, key.handle) == 1 else {
            throw PKIError.openSSL("cannot start a \(key.keyDescription) signature")
        }
        var length = 0
        let sized = message.withUnsafeBytes { buffer in
            EVP_DigestSign(
                context, nil, &length, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count)
        }
        guard sized == 1 else { throw PKIError.openSSL("cannot size a \(key.keyDescription) signature") }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = message.withUnsafeBytes { buffer in
            EVP_DigestSign(
                context, &signature, &length, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count)
        }
        guard signed == 1 else { throw PKIError.openSSL("cannot make a \(key.keyDescription) signature") }
        return Array(signature.prefix(length))
    }

    /// True when `signature` is `key`'s signature over `message`. Never throws: anything malformed is false.
    public static func verify(_ signature: [UInt8], of message: [UInt8], with key: PublicKey) -> Bool {
        defer { ERR_clear_error() }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let digest = EVP_PKEY_is_a(key.handle, "ED25519") == 1 ? nil : EVP_sha256()
        guard EVP_DigestVerifyInit(context, nil, digest, nil, key.handle) == 1 else { return false }
        let result = signature.withUnsafeBytes { signatureBuffer in
            message.withUnsafeBytes { messageBuffer in
                EVP_DigestVerify(
                    context, signatureBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), signatureBuffer.count,
                    messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count)
            }
        }
        return result == 1
    }
}

extension PublicKey {
    /// True when both are the same key (compared by their encoded SubjectPublicKeyInfo).
    public func isSameKey(as other: PublicKey) -> Bool {
        guard let mine = try? pem, let theirs = try? other.pem else { return false }
        return mine == theirs
    }
}
