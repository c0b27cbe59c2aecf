import ArgumentParsing
import FleetCA
import Foundation
import PKI

/// Helpers the CA commands share: the home and passphrase options, file reading, output.
enum CASupport {
    /// `--home DIR` (else `$FLEET_HOME`, else `./fleet`).
    static func home(_ arguments: inout Arguments) throws(UsageError) -> CAHome {
        CAHome.resolve(try arguments.option("--home"))
    }

    /// `--passphrase-file F` (else `$FLEET_PASSPHRASE_FILE`): the first line of the file, or nil.
    static func passphrase(_ arguments: inout Arguments) throws -> String? {
        let path =
            try arguments.option("--passphrase-file") ?? ProcessInfo.processInfo.environment["FLEET_PASSPHRASE_FILE"]
        guard let path, !path.isEmpty else { return nil }
        let text = try InputFile.text(path, what: "the passphrase file")
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let passphrase = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !passphrase.isEmpty else { throw CommandFailure("the passphrase file '\(path)' is empty") }
        return passphrase
    }

    /// A duration option (`30d`), in seconds.
    static func duration(_ arguments: inout Arguments, _ name: String) throws(UsageError) -> Int64? {
        guard let text = try arguments.option(name) else { return nil }
        guard let seconds = DurationText.seconds(text) else {
            throw UsageError("'\(text)' is not a valid duration for \(name); write it like 90s, 15m, 12h, 30d or 2y")
        }
        return seconds
    }

    /// Reads a CSR file (PEM, or DER when it is not text). A file that is empty, unreadable, a certificate
    /// or anything else but a request is refused naming the file, with OpenSSL's reason when it has one.
    static func readRequest(_ path: String) throws -> CertificateSigningRequest {
        let bytes = try InputFile.bytes(path, what: "the CSR file")
        guard !bytes.isEmpty else {
            throw CommandFailure(
                "the CSR file '\(path)' is empty; it is not a certificate signing request (PEM or DER)")
        }
        let text = String(validating: bytes, as: UTF8.self)
        if text?.contains("-----BEGIN CERTIFICATE-----") == true || (text == nil && isCertificate(der: bytes)) {
            throw CommandFailure(
                "'\(path)' holds a certificate, not a certificate signing request; "
                    + "pass the request the device made (for example with 'openssl req -new')")
        }
        do throws(PKIError) {
            if let text, text.contains("-----BEGIN") { return try CertificateSigningRequest(pem: text) }
            return try CertificateSigningRequest(der: bytes)
        } catch {
            throw CommandFailure(
                "'\(path)' is not a certificate signing request (PEM or DER): \(openSSLReason(error))")
        }
    }

    /// Reads a PEM certificate file (`revoke --cert`).
    static func readCertificate(_ path: String) throws -> Certificate {
        let bytes = try InputFile.bytes(path, what: "the certificate file")
        guard let text = String(validating: bytes, as: UTF8.self), !bytes.isEmpty else {
            throw CommandFailure("'\(path)' is not a PEM certificate (it is \(bytes.isEmpty ? "empty" : "not text"))")
        }
        if text.contains("CERTIFICATE REQUEST-----") {
            throw CommandFailure("'\(path)' holds a certificate signing request, not a certificate")
        }
        do throws(PKIError) { return try Certificate(pem: text) } catch {
            throw CommandFailure("'\(path)' is not a PEM certificate: \(openSSLReason(error))")
        }
    }

    private static func isCertificate(der: [UInt8]) -> Bool {
        (try? Certificate(der: der)) != nil
    }

    /// OpenSSL's reasons from a parse error, without the "cannot read ..." action that the caller restates.
    private static func openSSLReason(_ error: PKIError) -> String {
        guard let colon = error.message.range(of: ": ") else { return error.message }
        return String(error.message[colon.upperBound...])
    }

    /// Prepares the output folder `out` (created, proven writable), then runs `issue`, which commits to the
    /// inventory; a folder created here is removed again when `issue` fails.
    static func issue(into out: String, replacing: Bool, _ issue: () throws -> IssuedCredential) throws
        -> IssuedCredential
    {
        let created = try DeviceBundle.prepare(folder: out, replacing: replacing)
        do { return try issue() } catch {
            DeviceBundle.discard(folder: out, created: created)
            throw error
        }
    }

    /// Prints a value as pretty JSON with sorted keys and ISO 8601 dates.
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A date as `2026-12-03T17:00:00Z`.
    static func text(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Rows as aligned columns.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// What `--json` prints for one issued certificate.
struct IssuedOutput: Encodable {
    let subject: String
    let kind: String
    let serial: String
    let notBefore: Date
    let notAfter: Date
    let fingerprintSHA256: String
    let keyGeneratedByCA: Bool
    let bundle: String?

    init(_ credential: IssuedCredential, bundle: String?) {
        subject = credential.record.subject
        kind = credential.record.subjectKind.rawValue
        serial = credential.record.serial
        notBefore = credential.record.notBefore
        notAfter = credential.record.notAfter
        fingerprintSHA256 = credential.record.fingerprintSHA256
        keyGeneratedByCA = credential.record.keyGeneratedByCA
        self.bundle = bundle
    }
}
