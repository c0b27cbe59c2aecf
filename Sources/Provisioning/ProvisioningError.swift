/// A provisioning flow failed. The message is one sentence for the operator that names the file, value
/// or broker involved and what to do; it never holds key material.
public struct ProvisioningError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
