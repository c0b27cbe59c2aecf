/// A record offered to the buffer by a producer.
public struct IncomingRecord: Sendable {
    public var stream: String
    public var payload: [UInt8]
    /// When the reading was taken, in milliseconds since 1970; defaults to the time it is accepted.
    public var capturedMilliseconds: Int64?

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
    public let id: Int64
    public let stream: String
    public let sequence: Int64
    public let epoch: Int64
    public let capturedMilliseconds: Int64
    public let expiresMilliseconds: Int64
    public let payload: [UInt8]
}
