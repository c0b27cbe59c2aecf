import AtomicFiles

/// Reads the files an operator names (CSRs, certificates, CSV), with the system's reason on failure.
enum InputFile {
    /// The bytes of `path`; `what` names the file in the error ("the CSR file").
    static func bytes(_ path: String, what: String) throws(CommandFailure) -> [UInt8] {
        do {
            return try AtomicFile.readBytes(path, what: what)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// The text of `path`, which must be UTF-8.
    static func text(_ path: String, what: String) throws(CommandFailure) -> String {
        let data = try bytes(path, what: what)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CommandFailure("\(what) '\(path)' is not UTF-8 text")
        }
        return text
    }
}
