/// A record offered to the buffer by a producer.
public struct IncomingRecord: Sendable {
    /// The configured stream it belongs to.
    public var stream: String
    /// The record as the producer wrote it.
    public var payload: [UInt8]
    /// When the reading was taken, in milliseconds since 1970; defaults to the time it is accepted.
    public var capturedMilliseconds: Int64?

    /// A record for `stream`; the capture time defaults to acceptance.
    public init(stream: String, payload: [UInt8], capturedMilliseconds: Int64? = nil) {
        self.stream = stream
        self.payload = payload
        self.capturedMilliseconds = capturedMilliseconds
    }
}

/// What became of an offered record.
public enum AppendOutcome: Sendable, Equatable {
    /// Durably in the buffer with this sequence number and boot epoch.
    case accepted(sequence: Int64, epoch: Int64)
    /// Not accepted; the reason names the value involved.
    case refused(String)

    public var sequence: Int64? {
        if case .accepted(let sequence, _) = self { return sequence }
        return nil
    }
}

/// A record waiting in the buffer.
public struct BufferedRecord: Sendable {
    /// The row id: the order of acceptance.
    public let id: Int64
    /// Its stream.
    public let stream: String
    /// The device's sequence number, sent as user property `seq`.
    public let sequence: Int64
    /// The boot epoch at acceptance, sent as user property `epoch`.
    public let epoch: Int64
    /// Capture time in ms since 1970, sent as user property `captured`.
    public let capturedMilliseconds: Int64
    /// When its TTL runs out, in ms since 1970.
    public let expiresMilliseconds: Int64
    /// The record as written.
    public let payload: [UInt8]
}
