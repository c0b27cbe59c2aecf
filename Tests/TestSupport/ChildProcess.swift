import Foundation

/// The outcome of a finished command: its exit status and everything it printed.
public struct CommandResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String

    public var description: String { "exit \(status)\nstdout: \(standardOutput)\nstderr: \(standardError)" }
}

/// Runs `executable` with `arguments` to completion and captures its output.
///
/// `executable` is a path, or a bare name looked up on PATH. `input` is written to its standard input.
/// Output goes through temporary files, so a chatty command cannot fill a pipe and stall.
@discardableResult
public func runCommand(
    _ executable: String, _ arguments: [String], input: String? = nil,
    environment: [String: String] = [:], directory: String? = nil
) throws -> CommandResult {
    let scratch = try TemporaryDirectory("fleet-run")
    let outputPath = scratch.file("stdout"), errorPath = scratch.file("stderr"), inputPath = scratch.file("stdin")
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    _ = FileManager.default.createFile(atPath: inputPath, contents: Data((input ?? "").utf8))

    let process = Process()
    process.executableURL = URL(fileURLWithPath: resolveExecutable(executable))
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    merged.merge(environment) { _, new in new }
    process.environment = merged
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = FileHandle(forReadingAtPath: inputPath)
    process.standardOutput = FileHandle(forWritingAtPath: outputPath)
    process.standardError = FileHandle(forWritingAtPath: errorPath)
    try process.run()
    process.waitUntilExit()

    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let error = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    return CommandResult(status: process.terminationStatus, standardOutput: output, standardError: error)
}

/// The full path of `name`: itself when it holds a '/', else the first match on PATH.
public func resolveExecutable(_ name: String) -> String {
    if name.contains("/") { return name }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    // `.map(String.init)` matters: without it the `+` picks an overload that splits into characters.
    for folder in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
        let candidate = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return name
}

/// Where the package's own tools are: the folder holding the test bundle, where SwiftPM also puts
/// the executables it built (`fleetctl`, `fleet-agent`).
public func builtProduct(_ name: String) -> String {
    if let folder = ProcessInfo.processInfo.environment["FLEET_BIN_DIR"] { return "\(folder)/\(name)" }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // XCTest on Linux runs `<bin>/fleetPackageTests.xctest`; Swift Testing may run from a helper.
    for _ in 0..<3 {
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent(name).path) {
            return url.appendingPathComponent(name).path
        }
        url.deleteLastPathComponent()
    }
    return packageRoot() + "/.build/debug/\(name)"
}

/// The package's root folder, found from this file's own path.
public func packageRoot() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}

/// The Python of the interop virtual environment that `make test` builds (`cryptography`, `paho-mqtt`,
/// `pkilint`); `FLEET_PYTHON` overrides it.
public func interopPython() -> String {
    ProcessInfo.processInfo.environment["FLEET_PYTHON"] ?? packageRoot() + "/.build/venv/bin/python3"
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
public func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
