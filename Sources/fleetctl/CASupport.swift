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
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw UsageError("cannot read the passphrase file '\(path)'")
        }
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let passphrase = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !passphrase.isEmpty else { throw UsageError("the passphrase file '\(path)' is empty") }
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

    /// Reads a CSR file (PEM, or DER when it is not text).
    static func readRequest(_ path: String) throws -> CertificateSigningRequest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read the CSR file '\(path)'")
        }
        do {
            if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
                return try CertificateSigningRequest(pem: text)
            }
            return try CertificateSigningRequest(der: Array(data))
        } catch let error as PKIError {
            throw FleetCAError(.invalidInput, "'\(path)' is not a certificate signing request: \(error.message)")
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
