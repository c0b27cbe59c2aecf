import CMosquitto

/// An MQTT v5 reason code from a CONNACK, PUBACK, PUBREC, PUBCOMP, SUBACK or DISCONNECT.
///
/// Codes below 0x80 are successes, 0x10 ("no matching subscribers") included; codes at or above
/// 0x80 are failures (0x87 "not authorized" is what Mosquitto sends for a publish its ACL denies).
public struct ReasonCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code as sent on the wire (0-255).
    public let rawValue: Int

    /// The reason with code `rawValue`.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// 0x00: success (or "granted QoS 0" in a SUBACK).
    public static let success = ReasonCode(rawValue: 0x00)
    /// 0x10: the broker accepted the message but nobody subscribes to it. Still a success.
    public static let noMatchingSubscribers = ReasonCode(rawValue: 0x10)
    /// 0x87: the broker's authorization refused the operation.
    public static let notAuthorized = ReasonCode(rawValue: 0x87)

    /// True for codes at or above 0x80.
    public var isFailure: Bool { rawValue >= 0x80 }

    /// The code in hex with libmosquitto's name for it, such as `0x87 (Not authorized)`.
    public var description: String {
        let text = String(cString: mosquitto_reason_string(Int32(rawValue)))
        return "0x" + String(rawValue, radix: 16, uppercase: true).leftPadded(to: 2) + " (\(text))"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
