import Foundation

/// A fresh folder under the system's temporary directory, removed with everything in it on `deinit`.
public final class TemporaryDirectory: @unchecked Sendable {  // immutable after init
    public let url: URL
    public var path: String { url.path }

    public init(_ prefix: String = "fleet-test") throws {
        let base = FileManager.default.temporaryDirectory
        url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside this folder.
    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
