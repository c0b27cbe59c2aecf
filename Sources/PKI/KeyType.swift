/// The kinds of key this project generates and accepts.
///
/// Weak keys are refused everywhere keys enter: RSA below 2048 bits and elliptic curves below P-256.
public enum KeyType: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// ECDSA on NIST P-256 (the default for devices).
    case p256
    /// ECDSA on NIST P-384.
    case p384
    /// RSA with the given modulus size in bits (2048 or more).
    case rsa(bits: Int)
    /// Ed25519.
    case ed25519

    /// The names operators type: `p256`, `p384`, `rsa2048`, `rsa3072`, `rsa4096`, `ed25519`.
    public init?(name: String) {
        switch name.lowercased() {
        case "p256", "p-256", "ec", "ecdsa": self = .p256
        case "p384", "p-384": self = .p384
        case "ed25519": self = .ed25519
        case let text where text.hasPrefix("rsa"):
            guard let bits = Int(text.dropFirst(3)), bits >= 2048, bits <= 16384, bits % 8 == 0 else { return nil }
            self = .rsa(bits: bits)
        default: return nil
        }
    }

    /// The name `init(name:)` reads back.
    public var name: String {
        switch self {
        case .p256: return "p256"
        case .p384: return "p384"
        case .rsa(let bits): return "rsa\(bits)"
        case .ed25519: return "ed25519"
        }
    }

    public var description: String { name }
}
