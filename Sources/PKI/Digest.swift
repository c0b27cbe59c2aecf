import COpenSSL

/// Message digests, for fingerprints and the CA's audit hash chain.
public enum Digest {
    /// SHA-256 of `bytes`, as 32 octets.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = bytes.withUnsafeBytes { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &output, &length, EVP_sha256(), nil)
        }
        precondition(status == 1 && length == 32, "SHA-256 failed inside OpenSSL")
        return output
    }

    /// SHA-256 of the UTF-8 of `text`, as lowercase hexadecimal.
    public static func sha256Hex(_ text: String) -> String { hexString(sha256(Array(text.utf8))) }

    /// Lowercase hexadecimal of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String { hexString(bytes) }
}
