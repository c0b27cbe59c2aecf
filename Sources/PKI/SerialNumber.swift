import COpenSSL

/// A certificate serial number: a positive integer of at most 20 octets (RFC 5280 4.1.2.2).
///
/// `bytes` is the big-endian magnitude without leading zero octets; `hex` is its lowercase text.
public struct SerialNumber: Sendable, Hashable, CustomStringConvertible {
    /// Big-endian magnitude, no leading zero octets, never empty, never all zero.
    public let bytes: [UInt8]

    /// Wraps a magnitude; refuses zero and anything that does not fit in 20 octets as a positive INTEGER.
    public init(bytes: [UInt8]) throws(PKIError) {
        let trimmed = Array(bytes.drop { $0 == 0 })
        guard !trimmed.isEmpty else { throw PKIError("serial number 0 is not allowed; serials must be positive") }
        // A positive DER INTEGER needs a leading 0x00 octet when the top bit is set; RFC 5280 counts it.
        let encodedLength = trimmed.count + (trimmed[0] & 0x80 != 0 ? 1 : 0)
        guard encodedLength <= 20 else {
            throw PKIError("serial number \(hexString(trimmed)) is \(encodedLength) octets; RFC 5280 allows at most 20")
        }
        self.bytes = trimmed
    }

    /// Parses hexadecimal text as an operator writes it (`0a1b…`, `0A:1B:…`, optional `0x`).
    /// A leading `-` or a value of zero is refused with a sentence saying why.
    public init(hex text: String) throws(PKIError) {
        var digits = text.trimmingWhitespace
        if digits.hasPrefix("-") {
            throw PKIError("serial number '\(text)' is negative; serials issued by this CA are always positive")
        }
        if digits.lowercased().hasPrefix("0x") { digits = String(digits.dropFirst(2)) }
        if digits.filter({ $0 != ":" }).count % 2 == 1 { digits = "0" + digits }
        guard let bytes = bytesFromHex(digits) else {
            throw PKIError("serial number '\(text)' is not hexadecimal")
        }
        do { try self.init(bytes: bytes) } catch {
            throw PKIError("serial number '\(text)': \(error.message)")
        }
    }

    /// A fresh serial of 16 random octets from OpenSSL's CSPRNG: 127 bits of entropy, positive,
    /// never zero, always 16 octets long when DER-encoded.
    public static func random() throws(PKIError) -> SerialNumber {
        var bytes = [UInt8](repeating: 0, count: 16)
        while true {
            guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw PKIError.openSSL("the CSPRNG failed") }
            bytes[0] &= 0x7f
            // A non-zero first octet keeps every serial the same length; this also rules out zero.
            if bytes[0] != 0 { return try SerialNumber(bytes: bytes) }
        }
    }

    /// Lowercase hexadecimal, two digits per octet, no separators.
    public var hex: String { hexString(bytes) }

    public var description: String { hex }

    /// A new `ASN1_INTEGER` holding this serial; the caller frees it.
    func makeASN1Integer() throws(PKIError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else {
            throw PKIError.openSSL("cannot encode a serial")
        }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw PKIError.openSSL("cannot encode a serial") }
        return integer
    }

    /// Reads an `ASN1_INTEGER` serial, refusing zero, negative and oversized values with the value in the message.
    static func read(_ integer: UnsafePointer<ASN1_INTEGER>, of what: String) throws(PKIError) -> SerialNumber {
        guard let number = ASN1_INTEGER_to_BN(integer, nil) else {
            throw PKIError.openSSL("cannot read the serial of \(what)")
        }
        defer { BN_free(number) }
        var magnitude = [UInt8](repeating: 0, count: Int((BN_num_bits(number) + 7) / 8))
        if !magnitude.isEmpty { BN_bn2bin(number, &magnitude) }
        if BN_is_negative(number) != 0 {
            throw PKIError("\(what) has the negative serial number -\(hexString(magnitude)); refusing it")
        }
        if BN_is_zero(number) != 0 { throw PKIError("\(what) has serial number 0; refusing it") }
        do { return try SerialNumber(bytes: magnitude) } catch {
            throw PKIError("\(what): \(error.message)")
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
