import PKI
import Testing

@Suite struct SerialNumberTests {
    @Test func randomSerialsArePositiveNonZeroAndAtMostTwentyOctets() throws {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let serial = try SerialNumber.random()
            #expect(serial.bytes.count == 16)
            #expect(serial.bytes[0] != 0 && serial.bytes[0] < 0x80)
            seen.insert(serial.hex)
        }
        #expect(seen.count == 2_000)
    }

    @Test func zeroNegativeAndOversizedSerialsAreRefused() throws {
        #expect(throws: PKIError.self) { try SerialNumber(hex: "00") }
        let negative = #expect(throws: PKIError.self) { try SerialNumber(hex: "-05") }
        #expect(negative?.message.contains("negative") == true)
        #expect(throws: PKIError.self) { try SerialNumber(hex: String(repeating: "7f", count: 21)) }
        // 20 octets with the top bit set need a 21st sign octet in DER.
        #expect(throws: PKIError.self) { try SerialNumber(hex: String(repeating: "ff", count: 20)) }
        #expect(try SerialNumber(hex: String(repeating: "7f", count: 20)).bytes.count == 20)
        #expect(try SerialNumber(hex: "0A:1b").hex == "0a1b")
        #expect(throws: PKIError.self) { try SerialNumber(hex: "xyz") }
    }
}
