#if canImport(Glibc)
    import Glibc
#endif

/// Reads the files an operator names (CSRs, certificates, CSV), with the system's reason on failure.
enum InputFile {
    /// The bytes of `path`; `what` names the file in the error ("the CSR file").
    static func bytes(_ path: String, what: String) throws(CommandFailure) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw failure(path, what) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { break }
        }
        guard ferror(file) == 0 else { throw failure(path, what) }
        return bytes
    }

    /// The text of `path`, which must be UTF-8.
    static func text(_ path: String, what: String) throws(CommandFailure) -> String {
        let data = try bytes(path, what: what)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CommandFailure("\(what) '\(path)' is not UTF-8 text")
        }
        return text
    }

    private static func failure(_ path: String, _ what: String) -> CommandFailure {
        CommandFailure("cannot read \(what) '\(path)': \(String(cString: strerror(errno)))")
    }
}
