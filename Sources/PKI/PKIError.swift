import COpenSSL

/// A failure in key, request, certificate or CRL handling.
///
/// `message` is one sentence for an operator. When OpenSSL reported the failure, its error queue is
/// drained into the message, so the reason is never a bare numeric code. Key material never appears.
public struct PKIError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The sentence shown to the operator.
    public let message: String

    /// Creates an error with a complete sentence.
    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// An error for a failed OpenSSL call: `action` says what was being done; OpenSSL's queued
    /// reasons follow it, and the queue is left empty.
    static func openSSL(_ action: String) -> PKIError {
        let reasons = drainOpenSSLErrors()
        guard !reasons.isEmpty else { return PKIError(action) }
        return PKIError("\(action): \(reasons.joined(separator: "; "))")
    }
}

/// Empties OpenSSL's thread-local error queue and returns its reasons, oldest first, without repeats.
func drainOpenSSLErrors() -> [String] {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        // The reason as words ("wrong tag"); the numeric form only when OpenSSL has no text for it.
        let text: String
        if let reason = ERR_reason_error_string(code) {
            text = String(cString: reason)
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if !reasons.contains(text) { reasons.append(text) }
    }
    return reasons
}
