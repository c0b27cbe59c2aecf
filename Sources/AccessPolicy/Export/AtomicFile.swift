import Foundation

/// Writes a file so that readers see the old bytes or the new ones, never a mix: a temporary file in the
/// same folder, flushed with fsync, then renamed over the target.
public enum AtomicFile {
    /// Replaces `path` with `text`; `mode` is the new file's permission bits.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(PolicyError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = "\(folder)/.\(url.lastPathComponent).tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw PolicyError("cannot create '\(temporary)': \(String(cString: strerror(errno)))")
        }
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            guard result > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary)
                throw PolicyError("cannot write '\(temporary)': \(reason)")
            }
            written += result
        }
        bytes.removeAll()
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw PolicyError("cannot replace '\(path)': \(reason)")
        }
    }
}
