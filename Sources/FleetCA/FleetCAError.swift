/// A refusal or failure of the certificate authority, as one sentence naming the offending value.
///
/// The CLI prints `description` after the program name and exits non-zero. Private keys and
/// passphrases never appear in a message.
public struct FleetCAError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, as a kind the caller can branch on.
    public enum Kind: Sendable, Equatable {
        /// Input was refused before anything was written (bad id, weak key, CSR mismatch, ...).
        case invalidInput
        /// The named device, service or certificate does not exist.
        case notFound
        /// The thing to create already exists.
        case alreadyExists
        /// The CA home is missing, damaged or unreadable.
        case home
        /// Storage or crypto failed underneath.
        case failure
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> FleetCAError { FleetCAError(.invalidInput, message) }
}
