import Foundation
import Store
import Synchronization
import TestSupport
import Testing

@Suite struct DatabaseTests {
    @Test func newDatabaseFileIsPrivate() throws {
        let folder = try TemporaryDirectory()
        _ = try Database(path: folder.file("x.db"))
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.file("x.db"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func valuesRoundTripThroughEveryType() throws {
        let folder = try TemporaryDirectory()
        let database = try Database(path: folder.file("x.db"))
        try database.execute("CREATE TABLE t (a INTEGER, b REAL, c TEXT, d BLOB, e)")
        try database.run(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)", [.integer(-7), .real(2.5), "héllo", .blob([0, 1, 255]), nil])
        let row = try #require(try database.queryOne("SELECT * FROM t"))
        #expect(row["a"] == .integer(-7))
        #expect(row["b"] == .real(2.5))
        #expect(row["c"] == .text("héllo"))
        #expect(row["d"] == .blob([0, 1, 255]))
        #expect(row["e"] == .null)
    }

    @Test func failedTransactionLeavesNothingBehind() throws {
        let folder = try TemporaryDirectory()
        let database = try Database(path: folder.file("x.db"))
        try database.execute("CREATE TABLE t (a INTEGER UNIQUE)")
        #expect(throws: StoreError.self) {
            try database.transaction {
                try database.run("INSERT INTO t VALUES (1)")
                try database.run("INSERT INTO t VALUES (1)")
            }
        }
        #expect(try database.query("SELECT * FROM t").isEmpty)
    }

    @Test func migrationsRunOnceEach() throws {
        let folder = try TemporaryDirectory()
        let migrations = ["CREATE TABLE a (x)", "CREATE TABLE b (y)"]
        try Database(path: folder.file("x.db")).migrate(migrations)
        let database = try Database(path: folder.file("x.db"))
        try database.migrate(migrations)
        #expect(try database.queryOne("PRAGMA user_version")?[0] == .integer(2))
    }

    @Test func garbageFileIsReportedAsCorruption() throws {
        let folder = try TemporaryDirectory()
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: folder.file("x.db")))
        do {
            let database = try Database(path: folder.file("x.db"))
            try database.execute("CREATE TABLE t (a)")
            Issue.record("a garbage file was accepted as a database")
        } catch {
            #expect(error.isCorruption)
        }
    }

    @Test func twoConnectionsCreatingOneFileAtOnceBothSucceed() throws {
        let migrations = ["CREATE TABLE a (x)", "CREATE TABLE b (y)", "INSERT INTO a VALUES (1)"]
        for round in 0..<20 {
            let folder = try TemporaryDirectory()
            let path = folder.file("race-\(round).db")
            let failures = Mutex<[String]>([])
            let threads = (0..<2).map { _ in
                Thread {
                    do {
                        try Database(path: path).migrate(migrations)
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            threads.forEach { $0.start() }
            #expect(waitUntil(timeout: 20) { threads.allSatisfy(\.isFinished) })
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
            #expect(try Database(path: path).query("SELECT * FROM a").count == 1)
        }
    }
}
