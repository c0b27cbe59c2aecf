/// Where and how an `MQTTClient` connects. TLS with a client certificate is mandatory.
public struct MQTTConnectOptions: Sendable {
    /// The broker's host name or IP address; it must match the broker certificate's SAN.
    public var host: String
    /// The broker's TLS port.
    public var port: Int
    /// The client id; with `use_username_as_clientid` the broker replaces it by the certificate's CN.
    public var clientID: String
    /// The CA to trust and the client identity to present.
    public var credentials: TLSCredentials
    /// Seconds between PINGREQs when idle.
    public var keepalive: Int
    /// MQTT v5 clean start; false resumes the session named by the client id.
    public var cleanStart: Bool
    /// Seconds the broker keeps the session after a disconnect (MQTT v5 session expiry); nil sends none.
    public var sessionExpiry: UInt32?
    /// The last will, published by the broker if the connection drops without a DISCONNECT.
    public var will: MQTTMessage?
    /// How many QoS 1/2 messages the broker may have in flight towards us (Receive Maximum).
    public var receiveMaximum: Int
    /// How many QoS 1/2 messages we keep in flight towards the broker before libmosquitto queues them.
    public var sendMaximum: Int

    /// Options with the defaults: keepalive 30 s, clean start, no will, 1000 in flight each way.
    public init(
        host: String, port: Int, clientID: String, credentials: TLSCredentials, keepalive: Int = 30,
        cleanStart: Bool = true, sessionExpiry: UInt32? = nil, will: MQTTMessage? = nil,
        receiveMaximum: Int = 1000, sendMaximum: Int = 1000
    ) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.credentials = credentials
        self.keepalive = keepalive
        self.cleanStart = cleanStart
        self.sessionExpiry = sessionExpiry
        self.will = will
        self.receiveMaximum = receiveMaximum
        self.sendMaximum = sendMaximum
    }
}

/// The files of a TLS client identity. `certificate` holds the client certificate followed by any
/// intermediate certificates the broker needs to build the chain; `key` is its private key (its path is
/// shown in errors, never its content).
public struct TLSCredentials: Sendable, Equatable {
    /// The PEM file of the CA certificates that may sign the broker's certificate.
    public var caFile: String
    /// The PEM file of the client certificate, followed by its intermediates.
    public var certificateFile: String
    /// The PEM file of the client's private key.
    public var keyFile: String

    /// The three files, by path.
    public init(caFile: String, certificateFile: String, keyFile: String) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}
