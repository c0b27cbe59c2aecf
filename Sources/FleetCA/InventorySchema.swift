/// The inventory's tables, as ordered migrations for `Database.migrate`.
enum InventorySchema {
    static let migrations: [String] = [
        """
        CREATE TABLE devices(
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE device_groups(
            device_id TEXT NOT NULL REFERENCES devices(id),
            name TEXT NOT NULL,
            PRIMARY KEY(device_id, name)
        );
        CREATE INDEX device_groups_name ON device_groups(name);
        CREATE TABLE device_attributes(
            device_id TEXT NOT NULL REFERENCES devices(id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY(device_id, key)
        );
        CREATE TABLE services(
            name TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE certificates(
            serial TEXT NOT NULL UNIQUE,
            subject_kind TEXT NOT NULL CHECK(subject_kind IN ('device', 'service', 'server')),
            subject TEXT NOT NULL,
            state TEXT NOT NULL CHECK(state IN ('active', 'superseded', 'revoked', 'expired')),
            not_before INTEGER NOT NULL,
            not_after INTEGER NOT NULL,
            issued_at INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            key_type TEXT NOT NULL,
            key_generated INTEGER NOT NULL,
            revoked_at INTEGER,
            revocation_reason TEXT,
            pem TEXT NOT NULL
        );
        CREATE INDEX certificates_subject ON certificates(subject_kind, subject);
        CREATE INDEX certificates_state ON certificates(state, not_after);
        CREATE TABLE audit(
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TABLE crl_state(
            id INTEGER PRIMARY KEY CHECK(id = 1),
            number INTEGER NOT NULL,
            this_update INTEGER NOT NULL,
            next_update INTEGER NOT NULL,
            pem TEXT NOT NULL
        );
        CREATE TABLE meta(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
        // Online renewal: every nonce a device used (replay protection across restarts, and the per-device
        // rate limit), and rotation orders that `fleetctl rotate --online` leaves for `fleetctl serve`.
        """
        CREATE TABLE renewal_nonces(
            nonce TEXT PRIMARY KEY,
            device TEXT NOT NULL,
            seen_at INTEGER NOT NULL
        );
        CREATE INDEX renewal_nonces_device ON renewal_nonces(device, seen_at);
        CREATE TABLE rotation_orders(
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            requested_at INTEGER NOT NULL,
            sent_at INTEGER
        );
        """,
    ]
}
