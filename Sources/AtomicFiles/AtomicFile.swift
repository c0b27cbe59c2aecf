#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes files so that a reader (or a crash) sees either the old content or the new, never a mix:
/// a temporary file in the same folder, created with its final mode, written, synced, then renamed over
/// the target, and the folder synced so the rename itself survives a power cut.
public enum AtomicFile {
    /// Replaces `path` with `bytes`. The file is created with `mode` (a key never exists, even for an
    /// instant, with a wider mode than asked). On failure the target is untouched and no temporary is left.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(AtomicFileError) {
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw .system("cannot create '\(temporary)'") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let error = AtomicFileError.system("cannot write '\(path)'")
                close(descriptor)
                unlink(temporary)
                throw error
            }
            offset += written
        }
        fchmod(descriptor, mode)  // the umask may have narrowed the mode given to open()
        guard fsync(descriptor) == 0 else {
            let error = AtomicFileError.system("cannot sync '\(path)'")
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let error = AtomicFileError.system("cannot move the new '\(path)' into place")
            unlink(temporary)
            throw error
        }
        syncFolder(of: path)
    }

    /// Replaces `path` with the UTF-8 bytes of `text`.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(AtomicFileError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Renames `source` over `target` and syncs the folder.
    public static func move(_ source: String, over target: String) throws(AtomicFileError) {
        guard rename(source, target) == 0 else { throw .system("cannot move '\(source)' to '\(target)'") }
        syncFolder(of: target)
    }

    /// Creates `path` with `mode` when it does not exist, and its parents with 0755.
    public static func makeFolder(_ path: String, mode: mode_t = 0o755) throws(AtomicFileError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw AtomicFileError("'\(path)' exists and is not a folder")
            }
            return
        }
        let parent = folder(of: path)
        if parent != path && parent != "/" && parent != "." { try makeFolder(parent) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw .system("cannot create the folder '\(path)'") }
        chmod(path, mode)
    }

    /// Reads a whole file; `what` names it in the error ("the CSR file"), with the system's reason.
    public static func readBytes(_ path: String, what: String) throws(AtomicFileError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw .system("cannot read \(what) '\(path)'") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { break }
        }
        guard ferror(file) == 0 else { throw .system("cannot read \(what) '\(path)'") }
        return bytes
    }

    /// Reads a whole file as UTF-8 text; `what` names it in the error ("the CRL").
    public static func read(_ path: String, what: String) throws(AtomicFileError) -> String {
        String(decoding: try readBytes(path, what: what), as: UTF8.self)
    }

    private static func syncFolder(of path: String) {
        let descriptor = open(folder(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    private static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// A file could not be written, moved or read; the message names the path and the system's reason.
public struct AtomicFileError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    static func system(_ action: String) -> AtomicFileError {
        AtomicFileError("\(action): \(String(cString: strerror(errno)))")
    }

    public var description: String { message }
}
