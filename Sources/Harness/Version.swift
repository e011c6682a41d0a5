/// The harness version written into every output (results, manifests, shard records).
public let toolVersion = "0.1.0"
