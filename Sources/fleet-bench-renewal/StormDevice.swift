import MQTT
import Synchronization

/// One simulated device of the renewal storm: its own MQTT connection (its own identity), subscribed to
/// its response topic, and the monotonic time at which the CA's answer came back.
final class StormDevice: Sendable {
    let id: String
    let client: MQTTClient
    private let recorder = AnswerRecorder()

    init(id: String, port: Int, folder: String) throws {
        self.id = id
        let options = MQTTConnectOptions(
            host: "127.0.0.1", port: port, clientID: id,
            credentials: TLSCredentials(
                caFile: folder + "/root.pem", certificateFile: folder + "/cert.pem", keyFile: folder + "/key.pem"),
            keepalive: 60)
        // A handshake now and then gets no CONNACK when a thousand arrive back to back: try again, on a new
        // client, a few times.
        var attempt = 0
        while true {
            let candidate = try MQTTClient(options: options, handler: StormDevice.handler(recorder))
            do {
                try candidate.connect()
                try candidate.waitForConnack(timeout: 5)
                client = candidate
                break
            } catch {
                candidate.disconnect()
                attempt += 1
                if attempt == 4 { throw error }
            }
        }
        try client.subscribe("fleet/\(id)/pki/response", qos: 1)
    }

    var subscribed: Bool { recorder.state.withLock { $0.subscribed } }

    /// The answer's payload and arrival time, once it came.
    var answer: (payload: [UInt8], at: Double)? {
        recorder.state.withLock { value in value.answer.map { ($0, value.answeredAt) } }
    }

    /// Formed outside main-actor code: libmosquitto's thread calls it (see SWIFT-C-NOTES.md).
    private nonisolated static func handler(_ recorder: AnswerRecorder) -> @Sendable (MQTTEvent) -> Void {
        { @Sendable event in recorder.record(event) }
    }
}

/// What one device's connection saw, written on libmosquitto's thread.
final class AnswerRecorder: Sendable {
    let state = Mutex<(subscribed: Bool, answer: [UInt8]?, answeredAt: Double)>((false, nil, 0))

    func record(_ event: MQTTEvent) {
        switch event {
        case .subscribed: state.withLock { $0.subscribed = true }
        case .message(let message):
            let now = monotonicSeconds()
            state.withLock {
                $0.answer = message.payload
                $0.answeredAt = now
            }
        default: break
        }
    }
}
