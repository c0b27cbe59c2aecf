import MQTT

/// One real connection attempt to the broker with a given client credential: the TLS handshake, the
/// CONNECT and the CONNACK. It tells an accepted client from a refused one and from a broker that is
/// not there at all, which `broker sync` needs to prove what the broker enforces.
public enum HandshakeProbe {
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// CONNACK with success.
        case accepted
        /// The TLS handshake or the CONNECT was refused; the text says how.
        case refused(String)
        /// Nothing accepted a TCP connection.
        case unreachable(String)

        public var description: String {
            switch self {
            case .accepted: return "accepted"
            case .refused(let why): return "refused (\(why))"
            case .unreachable(let why): return "unreachable (\(why))"
            }
        }
    }

    /// Connects as `clientID` with the credential files and disconnects at once.
    public static func attempt(
        host: String, port: Int, caFile: String, certificateFile: String, keyFile: String, clientID: String,
        timeout: Double = 5
    ) -> Outcome {
        let credentials = TLSCredentials(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        let options = MQTTConnectOptions(host: host, port: port, clientID: clientID, credentials: credentials)
        let client: MQTTClient
        do {
            client = try MQTTClient(options: options) { _ in }
        } catch {
            return .refused("the client could not be set up: \(error)")
        }
        do {
            try client.connect()
        } catch {
            // TLS 1.2 refuses a client certificate inside the blocking handshake; a closed port fails in
            // the TCP connect. libmosquitto reports both as connection errors: tell them apart by errno text.
            let text = error.description
            if text.contains("refused") && !text.contains("certificate") { return .unreachable(text) }
            return .refused(text)
        }
        do {
            try client.waitForConnack(timeout: timeout)
            client.disconnect()
            return .accepted
        } catch {
            // Over TLS 1.3 the broker checks the client certificate after the client's handshake finished:
            // the refusal arrives as a closed connection before CONNACK.
            return .refused(error.description)
        }
    }
}
