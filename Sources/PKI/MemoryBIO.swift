import COpenSSL
import CShim

/// An OpenSSL memory BIO. It owns the `BIO*` and frees it in `deinit`.
final class MemoryBIO {
    let handle: OpaquePointer

    /// An empty, writable memory BIO.
    init() throws(PKIError) {
        guard let handle = BIO_new(BIO_s_mem()) else { throw PKIError.openSSL("cannot allocate a memory buffer") }
        self.handle = handle
    }

    /// A memory BIO holding a copy of `bytes`, for reading.
    init(_ bytes: [UInt8]) throws(PKIError) {
        guard let handle = BIO_new(BIO_s_mem()) else { throw PKIError.openSSL("cannot allocate a memory buffer") }
        self.handle = handle
        if !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { BIO_write(handle, $0.baseAddress, Int32($0.count)) }
            guard written == Int32(bytes.count) else { throw PKIError.openSSL("cannot fill a memory buffer") }
        }
    }

    deinit { BIO_free(handle) }

    /// Everything written to the BIO so far.
    var bytes: [UInt8] {
        var pointer: UnsafeMutablePointer<CChar>?
        let length = fleet_BIO_get_mem_data(handle, &pointer)
        guard length > 0, let pointer else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// Everything written so far, as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Reads DER from a byte array through OpenSSL's `d2i_*` calling convention.
func decodeDER<T>(_ der: [UInt8], _ decode: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> T?) -> T? {
    der.withUnsafeBufferPointer { buffer -> T? in
        guard let base = buffer.baseAddress else { return nil }
        var cursor: UnsafePointer<UInt8>? = base
        return decode(&cursor, buffer.count)
    }
}

/// Writes DER through OpenSSL's `i2d_*` calling convention (`length = i2d(x, &out)`).
func encodeDER(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) throws(PKIError) -> [UInt8] {
    let length = encode(nil)
    guard length > 0 else { throw PKIError.openSSL("cannot encode DER") }
    var bytes = [UInt8](repeating: 0, count: Int(length))
    let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
        return encode(&cursor)
    }
    guard written == length else { throw PKIError.openSSL("cannot encode DER") }
    return bytes
}

/// Lowercase hexadecimal of `bytes`, no separators.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return text
}

/// The bytes of a hexadecimal string (either case, optional `:` separators), or nil.
func bytesFromHex(_ text: String) -> [UInt8]? {
    let digits = Array(text.filter { $0 != ":" })
    guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let high = digits[index].hexDigitValue, let low = digits[index + 1].hexDigitValue else { return nil }
        bytes.append(UInt8(high << 4 | low))
        index += 2
    }
    return bytes
}
