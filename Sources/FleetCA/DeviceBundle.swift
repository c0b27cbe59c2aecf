import Foundation
import PKI

/// The folder a device is configured from: `cert.pem`, `chain.pem` (issuing CA), `root.pem`,
/// `key.pem` (only when the CA generated the key; mode 0600) and `agent.json`.
public enum DeviceBundle {
    /// Writes the bundle for `credential` into `folder` (created 0700 if missing).
    ///
    /// - Parameter replacing: false refuses a folder that already holds a `cert.pem` (another device's
    ///   bundle); rotation passes true. A `key.pem` left from before is removed when the new key is the
    ///   device's own, so a stale key never sits beside a new certificate.
    public static func write(
        _ credential: IssuedCredential, deviceID: String, authority: CertificateAuthority,
        to folder: String, replacing: Bool
    ) throws {
        try check(folder: folder, replacing: replacing)
        try SecureFile.makeFolder(folder, mode: 0o700)
        if let key = credential.privateKey {
            try SecureFile.write(key.pem(), to: folder + "/key.pem", mode: 0o600)
        }
        try SecureFile.write(credential.record.pem, to: folder + "/cert.pem", mode: 0o644)
        try SecureFile.write(authority.chainPEM, to: folder + "/chain.pem", mode: 0o644)
        try SecureFile.write(authority.rootPEM, to: folder + "/root.pem", mode: 0o644)
        let agentPath = folder + "/agent.json"
        if !FileManager.default.fileExists(atPath: agentPath) || replacing {
            try SecureFile.write(
                agentConfiguration(deviceID: deviceID, broker: authority.configuration.broker),
                to: agentPath, mode: 0o644)
        }
    }

    /// Refuses a folder that holds another bundle, before anything is written.
    public static func check(folder: String, replacing: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw FleetCAError.invalid("'\(folder)' exists and is not a folder") }
            if !replacing && FileManager.default.fileExists(atPath: folder + "/cert.pem") {
                throw FleetCAError(
                    .alreadyExists, "'\(folder)' already holds a bundle (cert.pem); choose another --out")
            }
        }
    }

    /// The agent configuration of BRIEF's shared conventions, paths relative to the bundle folder.
    public static func agentConfiguration(deviceID: String, broker: CAConfiguration.Broker) -> String {
        let host = String(
            decoding: (try? JSONEncoder().encode(broker.host)) ?? Data("\"127.0.0.1\"".utf8), as: UTF8.self)
        return """
            {
              "device": "\(deviceID)",
              "broker": { "host": \(host), "port": \(broker.port), "keepalive": 30 },
              "tls": { "ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem" },
              "buffer": { "path": "buffer.db", "maxRows": 100000, "maxBytes": 67108864, "durability": "process" },
              "heartbeat": "30s",
              "streams": [
                { "name": "host", "qos": 1, "priority": "normal", "ttl": "7d" },
                { "name": "alarms", "qos": 2, "priority": "critical", "ttl": "30d" },
                { "name": "bulk", "qos": 0, "priority": "bulk", "ttl": "1h" }
              ],
              "collector": { "stream": "host", "interval": "10s" },
              "socket": "agent.sock"
            }

            """
    }
}
