import Foundation

/// Principals read from a JSON list: `[{"id": "sensor-001", "kind": "device", "groups": ["sensors"],
/// "attributes": {"site": "berlin"}, "revoked": false}]`. `kind` defaults to device; every name is validated.
public enum PrincipalList {
    /// Reads and validates the list in `path`; the error names the file and the entry at fault.
    public static func load(path: String) throws(PolicyError) -> [Principal] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError("cannot read the principals file '\(path)'")
        }
        return try decode(data, file: path)
    }

    /// Decodes a JSON list of principals from `data`; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws(PolicyError) -> [Principal] {
        // The fast path for a valid file; on any failure, go entry by entry to name the one at fault.
        if let all = try? JSONDecoder().decode([Principal].self, from: data),
            Set(all.map(\.id)).count == all.count {
            return all
        }
        let entries: [Any]
        do {
            guard let list = try JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw PolicyError("must hold a JSON list of principals", file: file)
            }
            entries = list
        } catch let error as PolicyError {
            throw error
        } catch {
            throw PolicyError("is not valid JSON: \(error.localizedDescription)", file: file)
        }
        var principals: [Principal] = []
        var seen = Set<String>()
        for (index, entry) in entries.enumerated() {
            do {
                let bytes = try JSONSerialization.data(withJSONObject: entry)
                let principal = try JSONDecoder().decode(Principal.self, from: bytes)
                guard seen.insert(principal.id).inserted else {
                    throw PolicyError("the id '\(principal.id)' appears twice")
                }
                principals.append(principal)
            } catch let error as PolicyError {
                throw PolicyError("entry \(index + 1): \(error.message)", file: file)
            } catch {
                throw PolicyError("entry \(index + 1) is not a principal (needs 'id'; optional 'kind', 'groups', "
                    + "'attributes', 'revoked')", file: file)
            }
        }
        return principals
    }
}
