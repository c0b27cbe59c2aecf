import Foundation
import Store
import TestSupport
import Testing

@Suite struct InventoryIntegrityTests {
    @Test func twoProcessesProvisioningAtOnceNeverDuplicateASerial() throws {
        let ca = try CATestHome()
        var processes: [Process] = []
        for batch in 0..<2 {
            let csv = ca.file("batch\(batch).csv")
            let rows = (0..<200).map { "par-\(batch)-\($0),fleet" }
            try (["id,groups"] + rows).joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: builtProduct("fleetctl"))
            // Small batches make the two writers interleave their transactions many times.
            process.arguments = [
                "provision", "--from", csv, "--out", ca.file("out\(batch)"), "--batch", "10",
                "--home", ca.home,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            processes.append(process)
        }
        for process in processes { try process.run() }
        for process in processes { process.waitUntilExit() }
        #expect(processes.map(\.terminationStatus) == [0, 0])

        let listed = try jsonArray(ca.fleetctl(["list", "--json"]).standardOutput)
        // 400 devices, each with its recovery credential (docs/renewal.md).
        #expect(listed.count == 800)
        #expect(Set(listed.compactMap { $0["serial"] as? String }).count == 800)
        let verify = try ca.fleetctl(["audit", "--verify", "--json"])
        #expect(verify.status == 0, "\(verify)")
        // ca.init, crl.sign, 400 provisions, 400 recovery credentials
        #expect(try jsonObject(verify.standardOutput)["records"] as? Int == 802)
        let database = try Database(path: ca.home + "/inventory.db")
        #expect(database.integrityProblem() == nil)
        #expect(try ca.verifyClient(ca.file("out1/par-1-199/cert.pem")).status == 0)
    }

    @Test func auditVerifyDetectsAnEditedRecordAndARemovedOne() throws {
        let ca = try CATestHome()
        for id in ["a-1", "a-2", "a-3"] {
            #expect(try ca.fleetctl(["provision", id, "--generate-key", "--out", ca.file(id)]).status == 0)
        }
        #expect(try ca.fleetctl(["audit", "--verify"]).status == 0)

        // Someone with write access to the file bypasses the append-only triggers and edits history.
        let database = try Database(path: ca.home + "/inventory.db")
        try database.execute("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete")
        try database.run("UPDATE audit SET subject = 'intruder' WHERE subject = 'a-2'")
        let edited = try ca.fleetctl(["audit", "--verify"])
        #expect(edited.status == 1)
        #expect(edited.standardError.contains("was altered"), "\(edited)")

        let restored = try #require(try database.queryOne("SELECT seq FROM audit WHERE subject = 'intruder'"))
        try database.run("DELETE FROM audit WHERE seq = ?", [restored["seq"]])
        let removed = try ca.fleetctl(["audit", "--verify", "--json"])
        #expect(removed.status == 1)
        #expect(try jsonObject(removed.standardOutput)["intact"] as? Bool == false)
        #expect(removed.standardOutput.contains("is missing"), "\(removed)")
    }

    @Test func auditLogIsAppendOnlyThroughSQLite() throws {
        let ca = try CATestHome()
        let database = try Database(path: ca.home + "/inventory.db")
        #expect(throws: StoreError.self) { try database.run("UPDATE audit SET actor = 'x'") }
        #expect(throws: StoreError.self) { try database.run("DELETE FROM audit") }
        let records = try jsonArray(ca.fleetctl(["audit", "--json"]).standardOutput)
        #expect(records.map { $0["action"] as? String } == ["ca.init", "crl.sign"])
    }
}
