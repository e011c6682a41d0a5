/// The harness version written into every output (results, manifests, shard records).
/// 0.2.0: a model's logits on every split are one `logits.npz` (0.1: a `.npy` file per split).
public let toolVersion = "0.2.0"
