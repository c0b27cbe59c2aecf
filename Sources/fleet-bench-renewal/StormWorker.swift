import FleetCA
import Foundation
import MQTT
import PKI

/// One worker process of the storm: a slice of the devices, each on its own connection.
enum StormWorker {
    /// Connects `range` of the devices, prints `ready`, waits for `go` on standard input, publishes every
    /// request, and prints one line per device: `sent answered status` (monotonic seconds). Returns the
    /// exit status.
    static func run(port: Int, devices folder: String, range: Range<Int>) -> Int32 {
        do {
            var devices: [StormDevice] = []
            var requests: [[UInt8]] = []
            for index in range {
                let id = "storm-\(index)"
                let bundle = "\(folder)/\(id)"
                devices.append(try StormDevice(id: id, port: port, folder: bundle))
                requests.append(try request(id: id, bundle: bundle))
            }
            let deadline = monotonicSeconds() + 30
            while !devices.allSatisfy(\.subscribed) && monotonicSeconds() < deadline { usleep(10_000) }
            emit("ready")
            guard readLine() == "go" else { return 1 }

            var sentAt: [Double] = []
            for (device, body) in zip(devices, requests) {
                sentAt.append(monotonicSeconds())
                try device.client.publish(
                    MQTTMessage(
                        topic: "fleet/\(device.id)/pki/request", payload: body, qos: 1,
                        responseTopic: "fleet/\(device.id)/pki/response", correlationData: Array(device.id.utf8)))
            }
            let end = monotonicSeconds() + 150
            while !devices.allSatisfy({ $0.answer != nil }) && monotonicSeconds() < end { usleep(10_000) }
            for (device, sent) in zip(devices, sentAt) {
                guard let answer = device.answer else { continue }
                let issued = String(decoding: answer.payload, as: UTF8.self).contains("\"issued\"")
                emit("\(sent) \(answer.at) \(issued ? "issued" : "refused")")
            }
            for device in devices { device.client.disconnect() }
            return 0
        } catch {
            emit("error \(error)")
            return 1
        }
    }

    /// One line on standard output, unbuffered (the parent waits for `ready`).
    static func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    /// The device's renewal request: a new key's CSR signed by the current key.
    static func request(id: String, bundle: String) throws -> [UInt8] {
        let key = try PrivateKey(pem: String(contentsOfFile: bundle + "/key.pem", encoding: .utf8))
        let csr = try CertificateSigningRequest.create(key: PrivateKey.generate(.p256), commonName: id).pem
        let nonce = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signature = try Signature.sign(
            RenewalRequest.signedText(device: id, type: "renew", nonce: nonce, timestamp: timestamp, csr: csr),
            with: key)
        let request = RenewalRequest(
            csr: csr, certificate: try String(contentsOfFile: bundle + "/cert.pem", encoding: .utf8), nonce: nonce,
            timestamp: timestamp, signature: Data(signature).base64EncodedString())
        return Array(try JSONEncoder().encode(request))
    }
}

extension FileHandle {
    /// Reads up to a newline (without it); for the worker's one-line handshake.
    func readLine() -> [UInt8] {
        var line: [UInt8] = []
        while true {
            let byte = readData(ofLength: 1)
            guard let first = byte.first, first != 10 else { return line }
            line.append(first)
        }
    }
}
