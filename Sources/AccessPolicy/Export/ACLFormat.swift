/// The broker ACL formats the exporter writes.
public enum ACLFormat: String, Sendable, CaseIterable {
    /// Mosquitto 2.0 `acl_file`: `%u` patterns for rules every device shares, `user` blocks for the rest.
    case mosquitto
    /// Mosquitto 2.0 dynamic-security plugin JSON (roles, groups, clients). Never combine with `acl_file`.
    case mosquittoDynsec = "mosquitto-dynsec"
    /// EMQX 5 file authorizer `acl.conf`: Erlang terms, first match wins, ending with a deny-all.
    case emqx
    /// VerneMQ `vmq_acl` file: `user` blocks with `topic read|write` lines only.
    case vernemq
}
