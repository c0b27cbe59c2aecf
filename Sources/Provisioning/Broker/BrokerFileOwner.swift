import AtomicFiles

#if canImport(Glibc)
    import Glibc
#endif

/// Who may read the broker's files. Mosquitto started as root drops to the `mosquitto` user before it
/// reads its certificates, key, CRL and ACL, so a root-only key would stop it. When this process is
/// root and that user exists, files are given to group `mosquitto` (key 0640) and the data folder to the
/// user itself; otherwise the broker runs as the same user as fleetctl and plain owner modes suffice.
struct BrokerFileOwner {
    private let brokerUser: (uid: uid_t, gid: gid_t)?

    init() {
        if geteuid() == 0, let entry = getpwnam("mosquitto") {
            brokerUser = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        } else {
            brokerUser = nil
        }
    }

    /// Writes a file the broker reads: `secret` files are 0640 (0600 without a broker group), others 0644.
    func write(_ text: String, to path: String, secret: Bool) throws {
        try AtomicFile.write(text, to: path, mode: secret ? (brokerUser == nil ? 0o600 : 0o640) : 0o644)
        if let brokerUser { chown(path, 0, brokerUser.gid) }
    }

    /// Refuses a folder the broker's own user could not reach: every folder above it must let that user
    /// through, or Mosquitto fails at start with no more than "Unable to write pid file".
    func checkReachable(_ folder: String) throws {
        guard let brokerUser else { return }
        var path = ""
        for component in folder.split(separator: "/").dropLast() {
            path += "/" + component
            var status = stat()
            guard stat(path, &status) == 0 else { return }  // created later with 0750 root:mosquitto
            let mode = status.st_mode
            let passes =
                mode & 0o001 != 0 || (status.st_gid == brokerUser.gid && mode & 0o010 != 0)
                || (status.st_uid == brokerUser.uid && mode & 0o100 != 0)
            guard passes else {
                throw ProvisioningError(
                    "the broker drops to user 'mosquitto', which cannot enter '\(path)' (mode "
                        + "\(String(mode & 0o777, radix: 8))); make it traversable (chmod o+x '\(path)') or choose "
                        + "a broker folder elsewhere")
            }
        }
    }

    /// Creates a folder the broker reads (`writable` false) or writes (`writable` true).
    func makeFolder(_ path: String, writable: Bool) throws {
        try AtomicFile.makeFolder(path, mode: 0o750)
        guard let brokerUser else { return }
        chown(path, writable ? brokerUser.uid : 0, brokerUser.gid)
        if writable { chmod(path, 0o770) }
    }
}
