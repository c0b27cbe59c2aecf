import AtomicFiles
import Foundation
import PKI

#if canImport(Glibc)
    import Glibc
#endif

/// The folder a device is configured from: `cert.pem`, `chain.pem` (issuing CA), `root.pem`,
/// `key.pem` (only when the CA generated the key; mode 0600) and `agent.json`.
public enum DeviceBundle {
    /// Writes the bundle for `credential` into `folder` (created 0700 if missing).
    ///
    /// - Parameter replacing: false refuses a folder that already holds a `cert.pem` (another device's
    ///   bundle); rotation passes true. A `key.pem` left from before is removed when the new key is the
    ///   device's own, so a stale key never sits beside a new certificate.
    /// - Throws: a `FleetCAError` saying that the certificate is already recorded and how to get a new bundle.
    ///   `recovery`, when given, is written as `recovery-cert.pem` and `recovery-key.pem` (0600) and listed
    ///   in agent.json; a bundle that already holds a recovery credential keeps it listed.
    public static func write(
        _ credential: IssuedCredential, deviceID: String, authority: CertificateAuthority,
        to folder: String, replacing: Bool, recovery: IssuedCredential? = nil
    ) throws {
        do {
            try check(folder: folder, replacing: replacing)
            let keyPath = folder + "/key.pem"
            if replacing && credential.privateKey == nil && FileManager.default.fileExists(atPath: keyPath) {
                try FileManager.default.removeItem(atPath: keyPath)
            }
            try ServiceBundle.write(credential, authority: authority, to: folder)
            if let recovery, let key = recovery.privateKey {
                try SecureFile.write(key.pem(), to: folder + "/recovery-key.pem", mode: 0o600)
                try SecureFile.write(recovery.record.pem, to: folder + "/recovery-cert.pem", mode: 0o644)
            }
            let agentPath = folder + "/agent.json"
            if !FileManager.default.fileExists(atPath: agentPath) || replacing {
                let configuration = agentConfiguration(
                    deviceID: deviceID, broker: authority.configuration.broker,
                    recovery: FileManager.default.fileExists(atPath: folder + "/recovery-cert.pem"))
                try SecureFile.write(configuration, to: agentPath, mode: 0o644)
            }
        } catch {
            throw FleetCAError(
                .failure,
                "device '\(deviceID)' has certificate \(credential.record.serial) in the inventory, but its bundle "
                    + "could not be written to '\(folder)' (\(error)); "
                    + "run 'fleetctl rotate \(deviceID) --generate-key --out DIR' for a new one")
        }
    }

    /// Makes `folder` ready for a bundle before anything is committed to the inventory: refuses one that
    /// holds another bundle (unless `replacing`), creates it (0700) when missing, and proves it writable by
    /// creating and removing a file in it, so a generated key is never lost to a folder that cannot take it.
    ///
    /// - Returns: true when this call created the folder; pass it to `discard` if the operation then fails.
    public static func prepare(folder: String, replacing: Bool) throws -> Bool {
        try check(folder: folder, replacing: replacing)
        let existed = FileManager.default.fileExists(atPath: folder)
        do { try AtomicFile.makeFolder(folder, mode: 0o700) } catch {
            throw FleetCAError(.failure, "\(error.message); choose another --out")
        }
        let probe = "\(folder)/.fleet-write-probe-\(getpid())"
        let descriptor = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            if !existed { rmdir(folder) }
            throw FleetCAError(.failure, "cannot write into the folder '\(folder)': \(reason); choose another --out")
        }
        close(descriptor)
        unlink(probe)
        return !existed
    }

    /// Removes a folder `prepare` created when it is still empty (the operation failed before writing).
    public static func discard(folder: String, created: Bool) {
        if created { rmdir(folder) }
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

    /// The agent configuration of BRIEF's shared conventions, paths relative to the bundle folder. Records
    /// leave the device's buffer only on the consumer's delivery receipt (`confirm: consumer`,
    /// docs/receipts.md): the fleet's consumer (`fleetctl ingest`) must send receipts.
    /// With `recovery`, `tls` also lists `recoveryCert` and `recoveryKey`.
    public static func agentConfiguration(
        deviceID: String, broker: CAConfiguration.Broker, recovery: Bool = false
    ) -> String {
        let host = String(
            decoding: (try? JSONEncoder().encode(broker.host)) ?? Data("\"127.0.0.1\"".utf8), as: UTF8.self)
        let recoveryFiles =
            recovery ? ", \"recoveryCert\": \"recovery-cert.pem\", \"recoveryKey\": \"recovery-key.pem\"" : ""
        return """
            {
              "device": "\(deviceID)",
              "broker": { "host": \(host), "port": \(broker.port), "keepalive": 30 },
              "tls": { "ca": "root.pem", "chain": "chain.pem", "cert": "cert.pem", "key": "key.pem"\(recoveryFiles) },
              "buffer": { "path": "buffer.db", "maxRows": 100000, "maxBytes": 67108864, "durability": "process" },
              "heartbeat": "30s",
              "streams": [
                { "name": "host", "qos": 1, "priority": "normal", "ttl": "7d" },
                { "name": "alarms", "qos": 2, "priority": "critical", "ttl": "30d" },
                { "name": "bulk", "qos": 0, "priority": "bulk", "ttl": "1h" }
              ],
              "collector": { "stream": "host", "interval": "10s" },
              "delivery": { "confirm": "consumer", "receiptTimeout": "30s" },
              "socket": "agent.sock"
            }

            """
    }
}
