import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The local input: a Unix stream socket taking newline-delimited JSON records.
///
/// Each line is one JSON object naming its stream (`{"stream":"host", ...}`); an optional integer
/// `"captured"` gives the capture time in milliseconds since 1970. The whole line is the payload. Every
/// line gets one answer line, in order, only after the record is durable: `{"ok":true,"seq":N}` or
/// `{"ok":false,"error":"..."}`. Lines that arrive together are committed together.
public final class SocketInput: @unchecked Sendable {  // descriptors are guarded by `state`
    /// The socket file.
    public let path: String
    private let agent: TelemetryAgent
    private let state = Mutex<(listener: Int32, connections: Set<Int32>, stopped: Bool)>((-1, [], false))

    /// Binds the socket at `path` (replacing a stale one) with mode 0660 and starts accepting.
    public init(path: String, agent: TelemetryAgent) throws(AgentError) {
        self.path = path
        self.agent = agent
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw AgentError("cannot create the socket '\(path)': \(errnoText())") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw AgentError("the socket path '\(path)' is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, chmod(path, 0o660) == 0, listen(descriptor, 64) == 0 else {
            let text = errnoText()
            close(descriptor)
            throw AgentError("cannot listen on the socket '\(path)': \(text)")
        }
        state.withLock { $0.listener = descriptor }
        startThread { [self] in acceptLoop(descriptor) }
    }

    /// Stops accepting, closes every connection and removes the socket file.
    public func stop() {
        let (listener, connections) = state.withLock { state -> (Int32, Set<Int32>) in
            state.stopped = true
            defer { state.listener = -1 }
            return (state.listener, state.connections)
        }
        if listener >= 0 {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
        for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) }
        unlink(path)
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let admitted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.connections.insert(connection)
                return true
            }
            guard admitted else {
                close(connection)
                return
            }
            startThread { [self] in serve(connection) }
        }
    }

    private func serve(_ connection: Int32) {
        defer {
            state.withLock { _ = $0.connections.remove(connection) }
            close(connection)
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(connection, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            pending.append(contentsOf: chunk[0..<count])
            guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { continue }
            let complete = pending[...lastNewline]
            pending.removeSubrange(...lastNewline)
            let lines = complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            guard writeAll(connection, answer(lines.map(Array.init))) else { return }
        }
    }

    /// Parses the lines, submits the good ones in one batch, and answers every line in order.
    func answer(_ lines: [[UInt8]]) -> [UInt8] {
        var parsed: [Result<IncomingRecord, AgentError>] = []
        for line in lines { parsed.append(Self.parse(line)) }
        let records = parsed.compactMap { try? $0.get() }
        var outcomes = agent.submit(records)[...]
        var reply: [UInt8] = []
        for item in parsed {
            switch item {
            case .failure(let error):
                reply += Array("{\"ok\":false,\"error\":\(jsonString(error.message))}\n".utf8)
            case .success:
                switch outcomes.popFirst() {
                case .accepted(let sequence, _)?: reply += Array("{\"ok\":true,\"seq\":\(sequence)}\n".utf8)
                case .refused(let reason)?: reply += Array("{\"ok\":false,\"error\":\(jsonString(reason))}\n".utf8)
                case nil: reply += Array("{\"ok\":false,\"error\":\"not processed\"}\n".utf8)
                }
            }
        }
        return reply
    }

    static func parse(_ line: [UInt8]) -> Result<IncomingRecord, AgentError> {
        guard let header = RecordLine(line) else {
            let text = String(decoding: line.prefix(60), as: UTF8.self)
            return .failure(AgentError("line '\(text)' is not a JSON object with a string \"stream\""))
        }
        return .success(IncomingRecord(stream: header.stream, payload: line, capturedMilliseconds: header.captured))
    }

    private func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

func errnoText() -> String { String(cString: strerror(errno)) }
