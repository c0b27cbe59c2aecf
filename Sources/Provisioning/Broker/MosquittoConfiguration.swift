/// The `mosquitto.conf` that `fleetctl broker init` writes: one TLS listener that accepts only clients
/// holding a certificate from the fleet's CA, takes the MQTT username from the certificate's CN, binds
/// the client id to it, and enforces the exported ACL and the CA's CRL.
///
/// Every setting here answers a broker fact in DESIGN.md; the comments written into the file say which.
public struct MosquittoConfiguration: Sendable, Equatable {
    /// The address the listener binds; 127.0.0.1 unless the operator names another.
    public var bindAddress: String
    public var port: UInt16
    /// Absolute paths of the files the broker reads.
    public var caFile: String
    public var certFile: String
    public var keyFile: String
    public var crlFile: String
    public var aclFile: String
    /// Where the broker keeps its persistent sessions and queued messages; nil turns persistence off.
    public var persistenceDirectory: String?
    /// Where the broker writes its process id, so `broker sync` can send it SIGHUP.
    public var pidFile: String?
    /// Where the broker logs; nil logs to stderr.
    public var logFile: String?

    public init(
        bindAddress: String = "127.0.0.1", port: UInt16 = 8883, caFile: String, certFile: String, keyFile: String,
        crlFile: String, aclFile: String, persistenceDirectory: String? = nil, pidFile: String? = nil,
        logFile: String? = nil
    ) {
        self.bindAddress = bindAddress
        self.port = port
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.crlFile = crlFile
        self.aclFile = aclFile
        self.persistenceDirectory = persistenceDirectory
        self.pidFile = pidFile
        self.logFile = logFile
    }

    /// The file's text. The same configuration always gives the same bytes.
    public func render() -> String {
        var lines = [
            "# Written by fleetctl broker init. Regenerate it rather than editing it by hand.",
            "per_listener_settings false",
            "allow_anonymous false",
            "# The username is the certificate's CN (CONNECT credentials are ignored), and the client id must",
            "# equal it, so no client can present one identity to the ACL and another to the session store.",
            "",
            "# An explicit listener: without it Mosquitto binds every interface.",
            "listener \(port) \(bindAddress)",
            "protocol mqtt",
            "# 2.0.11 still accepts TLS 1.1 unless told otherwise.",
            "tls_version tlsv1.2",
            "cafile \(caFile)",
            "certfile \(certFile)",
            "keyfile \(keyFile)",
            "require_certificate true",
            "use_identity_as_username true",
            "use_username_as_clientid true",
            "# Reloaded on SIGHUP together with the ACL (certfile, keyfile and require_certificate are all set).",
            "crlfile \(crlFile)",
            "acl_file \(aclFile)",
            "set_tcp_nodelay true",
            "",
            "# The default max_queued_messages 1000 silently drops QoS 1/2 messages for a subscriber that falls",
            "# behind; a consumer that must lose nothing needs the queue bounded by memory instead.",
            "max_queued_messages 0",
            "max_queued_bytes 0",
            "max_inflight_messages 100",
        ]
        if let persistenceDirectory {
            // Sessions and queued messages survive a restart only as of the last save: save every second.
            lines += [
                "persistence true", "persistence_location \(directoryPath(persistenceDirectory))",
                "autosave_interval 1",
            ]
        } else {
            lines.append("persistence false")
        }
        if let pidFile { lines.append("pid_file \(pidFile)") }
        if let logFile {
            lines += [
                "log_dest file \(logFile)", "log_type error", "log_type warning", "log_type notice",
                "log_type information", "connection_messages true", "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            ]
        } else {
            lines.append("log_dest stderr")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func directoryPath(_ path: String) -> String { path.hasSuffix("/") ? path : path + "/" }
}
