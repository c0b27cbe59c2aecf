import AtomicFiles
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The CA's file writes, through `AtomicFile` (temporary file created with its final mode, fsync, rename),
/// with failures turned into `FleetCAError`.
enum SecureFile {
    static func write(_ text: String, to path: String, mode: mode_t) throws(FleetCAError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(FleetCAError) {
        do {
            try AtomicFile.write(bytes, to: path, mode: mode)
        } catch {
            throw FleetCAError(.failure, error.message)
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
}
