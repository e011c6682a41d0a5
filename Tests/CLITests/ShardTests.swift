import Foundation
import TestSupport
import Testing

@testable import Harness
@testable import UnlearnCLI

/// `unlearn evaluate --shard i/n` and `unlearn merge`: shards joined give the run of one machine.
@Suite(.serialized) struct ShardTests {
  /// The metrics of results.json by row, without the wall-time ones (measured, never replayed).
  static func metricsWithoutTimes(_ run: URL) throws -> [String: [String: String]] {
    let json =
      try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("results.json")))
      as! [String: Any]
    let timed = Set(
      (json["columns"] as! [[String: Any]]).filter { $0["wall_clock"] as! Bool }.map { $0["name"] as! String })
    #expect(timed.isSuperset(of: ["seconds", "speedup", "timing_leak"]))
    var out = [String: [String: String]]()
    for row in json["rows"] as! [[String: Any]] {
      let metrics = row["metrics"] as! [String: Any]
      var kept = [String: String]()
      for (k, v) in metrics where !timed.contains(k) {
        kept[k] = String(decoding: try JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]), as: UTF8.self)
      }
      out["\(row["algorithm"]!) round \(row["round"]!)"] = kept
    }
    return out
  }

  @Test func threeShardsMerged_equalASingleRun() throws {
    let dir = TestSupport.temporaryDirectory("shards")
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      TestSupport.digitsConfig(
        "model: {hidden: [16]}", "training: {epochs: 3}",
        "evaluation: {models: 4, reference_originals: 2, algorithms: [sisa, finetune]}"
      ).utf8
    ).write(to: config)
    let single = dir.appendingPathComponent("single")
    let (s0, table, e0) = try runUnlearn(["evaluate", "--config", config.path, "--out", single.path, "--quiet"])
    #expect(s0 == 0, "\(e0)")
    var shardDirs = [String]()
    var assigned = 0
    for i in 0..<3 {
      let d = dir.appendingPathComponent("shard-\(i)")
      // Shards may run on machines of different sizes: shard 1 uses one worker.
      let (s, out, e) = try runUnlearn(
        ["evaluate", "--config", config.path, "--shard", "\(i)/3", "--out", d.path]
          + (i == 1 ? ["--workers", "1"] : []))
      #expect(s == 0 && out.isEmpty && e.contains("shard \(i)/3"), "\(e)")
      let record = try ShardRecord.read(d)
      #expect(record.shard == i && record.shards == 3 && record.failures.isEmpty)
      assigned += record.jobs.count
      #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("results.json").path))
      shardDirs.append(d.path)
    }
    // retrain, sisa, finetune × 4, sisa's own reference × 4, original-seeds × 2: each job in exactly one shard
    #expect(assigned == 4 * 4 + 2)

    // Incomplete or mixed sets are refused, naming what is wrong.
    let (m1, _, e1) = try runUnlearn([
      "merge", shardDirs[0], shardDirs[2], "--out", dir.appendingPathComponent("m1").path,
    ])
    #expect(m1 != 0 && e1.contains("shard 1/3 missing"), "\(e1)")
    let (m2, _, e2) = try runUnlearn([
      "merge", shardDirs[0], shardDirs[1], shardDirs[1], "--out", dir.appendingPathComponent("m2").path,
    ])
    #expect(m2 != 0 && e2.contains("is shard 1/3 again"), "\(e2)")
    let (m3, _, e3) = try runUnlearn(["merge", single.path, "--out", dir.appendingPathComponent("m3").path])
    #expect(m3 != 0 && e3.contains("has no shard.json"), "\(e3)")

    let merged = dir.appendingPathComponent("merged")
    let (sm, mergedTable, em) = try runUnlearn(["merge"] + shardDirs + ["--out", merged.path, "--quiet"])
    #expect(sm == 0, "\(em)")
    // Every deterministic output (logits, weights, labels, splits, parameters) is byte-identical,
    // and so is every score but the wall times.
    let a = try RunManifest.read(single.appendingPathComponent("manifest.json"))
    let b = try RunManifest.read(merged.appendingPathComponent("manifest.json"))
    // 18 jobs' logits and SISA's own original's, 4 parameter files, 5 labels, the original's 3 files,
    // dataset.tsv, identity.yaml and splits.json.
    #expect(a.files.count == 34 && a.files == b.files && a.timingFiles == b.timingFiles, "\(a.files.keys.sorted())")
    #expect(a.config == b.config && a.originalWeightsSHA256 == b.originalWeightsSHA256)
    #expect(try Self.metricsWithoutTimes(single) == Self.metricsWithoutTimes(merged))
    // The tables agree column for column up to the three wall-time columns at the end.
    let strip = { (t: String) in
      t.split(separator: "\n").map {
        $0.split(separator: "|", omittingEmptySubsequences: false).dropLast(4).joined(separator: "|")
      }
    }
    #expect(strip(table) == strip(mergedTable))
    // The merged run replays like any other.
    let (sv, ov, ev) = try runUnlearn(["rerun", merged.path, "--verify", "--quiet"])
    #expect(sv == 0 && ov.contains("verified: all"), "\(ov) \(ev)")
  }

  @Test func shardsFromTheScheduler() throws {
    #expect(try ShardSpec.fromEnvironment([:], shards: nil) == nil)
    let slurm = try #require(
      try ShardSpec.fromEnvironment(
        ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"], shards: nil))
    #expect(slurm.shard == (try ShardSpec(index: 2, count: 4)))
    let k8s = try #require(try ShardSpec.fromEnvironment(["JOB_COMPLETION_INDEX": "5"], shards: 8))
    #expect(k8s.shard == (try ShardSpec(index: 5, count: 8)))
    #expect { try ShardSpec.fromEnvironment(["JOB_COMPLETION_INDEX": "1"], shards: nil) } throws: {
      "\($0)".contains("--shards")
    }
    #expect {
      try ShardSpec.fromEnvironment(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "3"], shards: nil)
    } throws: {
      "\($0)".contains("contiguous")
    }
    #expect { try ShardSpec.fromEnvironment([:], shards: 3) } throws: { "\($0)".contains("JOB_COMPLETION_INDEX") }
    #expect { try ShardSpec(parsing: "3/3") } throws: { "\($0)".contains("outside 0..<3") }
    #expect { try ShardSpec(parsing: "1of3") } throws: { "\($0)".contains("expected i/n") }
  }
}
