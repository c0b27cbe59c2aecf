// Issuance benchmark: certificates per second from pre-made P-256 CSRs, in one process, with the
// inventory committed to disk (SQLite FULL sync). scripts/bench-issuance.sh prints it beside
// `openssl speed ecdsap256`. Phases are timed apart so the report can say where the time goes.
import FleetCA
import Foundation
import PKI

#if canImport(Glibc)
    import Glibc
#endif

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func figure(_ name: String, _ value: Double, _ unit: String) {
    print("\(name)\t\(String(format: "%.1f", value))\t\(unit)")
}

var count = 4_000
var batch = 500
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let word = arguments.removeFirst()
    switch word {
    case "--count": count = Int(arguments.removeFirst()) ?? count
    case "--batch": batch = Int(arguments.removeFirst()) ?? batch
    default:
        FileHandle.standardError.write(Data("usage: fleet-bench-issuance [--count N] [--batch N]\n".utf8))
        exit(2)
    }
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-bench-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: folder) }
let home = CAHome(path: folder + "/ca")
do {
    _ = try CertificateAuthority.create(home: home, options: CAInitOptions(name: "Bench"))
    let authority = try CertificateAuthority.open(home: home)

    // Pre-made CSRs: made and encoded before the clock starts, parsed from PEM inside the timed part.
    var pems: [String] = []
    for index in 0..<count {
        let key = try PrivateKey.generate(.p256)
        pems.append(try CertificateSigningRequest.create(key: key, commonName: "bench-\(index)").pem)
    }

    var results: [Result<IssuedCredential, FleetCAError>] = []
    let total = try seconds {
        let enrollments = try pems.enumerated().map { index, pem in
            DeviceEnrollment(id: "bench-\(index)", groups: ["bench"], request: try CertificateSigningRequest(pem: pem))
        }
        results = try authority.provision(batch: enrollments, batchSize: batch)
    }
    let failures = results.filter { if case .failure = $0 { return true } else { return false } }.count
    guard failures == 0 else { throw FleetCAError(.failure, "\(failures) issuances failed") }

    // Where the time goes: the same work split into its parts, without the inventory.
    let requests = try pems.map { try CertificateSigningRequest(pem: $0) }
    let parse = try seconds { for pem in pems { _ = try CertificateSigningRequest(pem: pem) } }
    let verify = try seconds { for request in requests { try request.validate() } }
    let issuing = try Certificate(pem: String(contentsOfFile: home.issuingCertificatePath, encoding: .utf8))
    let issuingKey = try PrivateKey(pem: String(contentsOfFile: home.issuingKeyPath, encoding: .utf8))
    var certificates: [Certificate] = []
    let sign = try seconds {
        for (index, request) in requests.enumerated() {
            certificates.append(
                try CertificateBuilder.issue(
                    CertificateTemplate(
                        commonName: "bench-\(index)", profile: .client, uris: ["urn:fleet:device:bench-\(index)"],
                        validitySeconds: 86_400),
                    subjectKey: request.publicKey, issuer: issuing, issuerKey: issuingKey, serial: .random()))
        }
    }
    let encode = try seconds {
        for certificate in certificates {
            _ = try certificate.pem
            _ = certificate.fingerprintSHA256
        }
    }

    let rate = Double(count) / total
    figure("issuance_p256_csr", rate, "certs/s")
    figure("issuance_phase_parse_csr", Double(count) / parse, "ops/s")
    figure("issuance_phase_verify_csr", Double(count) / verify, "ops/s")
    figure("issuance_phase_build_and_sign", Double(count) / sign, "ops/s")
    figure("issuance_phase_pem_and_fingerprint", Double(count) / encode, "ops/s")
    let accounted = parse + verify + sign + encode
    figure("issuance_share_outside_crypto_and_encoding", max(0, (total - accounted) / total * 100), "percent")
} catch {
    FileHandle.standardError.write(Data("fleet-bench-issuance: \(error)\n".utf8))
    exit(1)
}
