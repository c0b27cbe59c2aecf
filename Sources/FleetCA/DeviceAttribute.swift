/// The rules a device attribute obeys: its name is an identity name, its value one line of at most
/// 256 characters without control characters (attributes reach ACL files and topic templates).
public enum DeviceAttribute {
    /// The longest value accepted.
    public static let maximumValueLength = 256

    /// Throws unless `name=value` is a valid attribute.
    public static func validate(name: String, value: String) throws(FleetCAError) {
        try IdentityName.validate(name, as: "attribute name")
        guard value.count <= maximumValueLength,
            !value.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true })
        else {
            throw FleetCAError.invalid(
                "the value of attribute '\(name)' must be one line of at most \(maximumValueLength) characters "
                    + "without control characters")
        }
    }
}
