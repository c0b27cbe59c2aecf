import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files atomically (temporary file, fsync, rename) with their mode set from creation,
/// so a key file never exists, even for an instant, with a wider mode than asked.
enum SecureFile {
    static func write(_ text: String, to path: String, mode: mode_t) throws(FleetCAError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(FleetCAError) {
        let temporary = "\(path).tmp-\(getpid())"
        let descriptor = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("cannot create '\(temporary)'") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else {
                close(descriptor)
                unlink(temporary)
                throw failure("cannot write '\(path)'")
            }
            offset += written
        }
        fchmod(descriptor, mode)
        guard fsync(descriptor) == 0, close(descriptor) == 0 else {
            unlink(temporary)
            throw failure("cannot write '\(path)'")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure("cannot move the new file into place at '\(path)'")
        }
    }

    /// Creates `path` (and parents) with `mode` if missing.
    static func makeFolder(_ path: String, mode: mode_t) throws(FleetCAError) {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw FleetCAError(.invalidInput, "'\(path)' exists and is not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: Int(mode)])
        } catch {
            throw FleetCAError(.failure, "cannot create the folder '\(path)': \(error.localizedDescription)")
        }
    }

    static func read(_ path: String, what: String) throws(FleetCAError) -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FleetCAError(.notFound, "cannot read \(what) '\(path)': \(reason(error))")
        }
    }

    static func reason(_ error: any Error) -> String {
        let text = (error as NSError).localizedFailureReason ?? error.localizedDescription
        return text
    }

    private static func failure(_ action: String) -> FleetCAError {
        FleetCAError(.failure, "\(action): \(String(cString: strerror(errno)))")
    }
}
