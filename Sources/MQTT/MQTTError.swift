import CMosquitto

/// A failure of a libmosquitto call, or a refusal by the broker.
///
/// `description` is one sentence naming the operation, libmosquitto's error text and the value
/// involved (topic, host); key material never appears in it.
public struct MQTTError: Error, CustomStringConvertible, Sendable {
    /// libmosquitto's return code (`MOSQ_ERR_*`), or -1 for the wrapper's own checks.
    public let code: Int32
    /// The broker's reason code, when the failure came from the broker.
    public let reason: ReasonCode?
    /// One sentence for an operator, naming what failed and the value involved.
    public let message: String

    /// An error with libmosquitto `code` (-1 for the wrapper's own checks) and the broker's reason.
    public init(code: Int32 = -1, reason: ReasonCode? = nil, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// An error for libmosquitto return code `code` while doing `action`.
    static func mosquitto(_ code: Int32, _ action: String) -> MQTTError {
        var text = String(cString: mosquitto_strerror(code))
        if code == Int32(MOSQ_ERR_ERRNO.rawValue) { text = String(cString: strerror(errno)) }
        return MQTTError(code: code, message: "\(action) failed: \(text)")
    }

    /// The message.
    public var description: String { message }

    /// True when the call failed because the client is not connected.
    public var isNotConnected: Bool { code == Int32(MOSQ_ERR_NO_CONN.rawValue) }
}

#if canImport(Glibc)
    import Glibc
#endif
