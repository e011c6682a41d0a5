import Foundation
import NumericCore

/// The scores of an evaluation run, as written to `results.json` (schema
/// `unlearn.results`, version 1): every column with what the reports need to show
/// it, and a row per population and deletion round.
public struct EvaluationReport: Codable, Sendable {
  public static let schema = "unlearn.results"
  public static let schemaVersion = 1

  public struct SplitInfo: Codable, Sendable {
    public var count: Int
    public var sha256: String
  }

  public struct Row: Codable, Sendable {
    /// The row name (``Role/name``).
    public var algorithm: String
    /// Deletion round (1-based; 1 when there is a single forget set).
    public var round: Int
    /// exact / approximate; nil for the original models.
    public var kind: UnlearningKind?
    public var hyperParameters: [String: ConfigValue]
    /// Models that finished (and were scored).
    public var models: Int
    /// Models asked for.
    public var requested: Int?
    /// Jobs that failed or did not finish.
    public var failures: [JobFailure]
    public var metrics: [String: MetricValue]

    public var role: Role { Role(rowName: algorithm) }

    /// `N` for tables: the models scored, and how many failed.
    public var countText: String {
      let failed = failures.filter { $0.group == nil }.count
      return failed == 0 ? "\(models)" : "\(models) (\(failed) failed)"
    }

    enum CodingKeys: String, CodingKey {
      case algorithm, round, kind, models, requested, failures, metrics
      case hyperParameters = "hyper_parameters"
    }
  }

  public var schema = EvaluationReport.schema
  public var schemaVersion = EvaluationReport.schemaVersion
  public var toolVersion: String
  public var name: String
  /// The resolved configuration (YAML).
  public var config: String
  public var dataset: String
  public var datasetFileListSHA256: String?
  /// SHA-256 of the dataset's content (every file's bytes, path and label).
  public var datasetSHA256: String?
  public var splits: [String: SplitInfo]
  public var originalWeightsSHA256: String
  /// N requested per algorithm.
  public var modelsPerAlgorithm: Int
  /// Deletion rounds (sizes and SHA-256 of each round's forget set).
  public var rounds: [SplitInfo]
  public var columns: [MetricColumn]
  public var rows: [Row]
  /// Whether each forgetting column separates the original from the retrain floor, per round
  /// (nil in results written before it was recorded).
  public var power: [PowerCheck]?
  public var notes: [String]

  enum CodingKeys: String, CodingKey {
    case schema, name, config, dataset, splits, rounds, columns, rows, power, notes
    case schemaVersion = "schema_version"
    case toolVersion = "tool_version"
    case datasetFileListSHA256 = "dataset_file_list_sha256"
    case datasetSHA256 = "dataset_sha256"
    case originalWeightsSHA256 = "original_weights_sha256"
    case modelsPerAlgorithm = "models_per_algorithm"
  }

  /// Scores every population the runner loaded with the scorer's metrics.
  public static func make(
    outcome: EvaluationRunner.Outcome, runner: EvaluationRunner, scorer: Scorer, toolVersion: String
  ) throws -> EvaluationReport {
    let exp = runner.experiment, store = runner.store
    let labels = try outcome.rounds.indices.map { try store.labels(round: $0, splits: scorer.inputs.splits) }
    let values = try profiled("metrics") { try scorer.score(outcome.populations, labels: labels) }
    var rows = [Row]()
    for (r, round) in outcome.populations.enumerated() {
      for (p, metrics) in zip(round, values[r]) {
        let algo = runner.algorithms.first { Role(algorithm: $0.name) == p.role }
        rows.append(
          Row(
            algorithm: p.name, round: r + 1, kind: p.kind, hyperParameters: algo?.hyperParameters ?? [:],
            models: p.models.count, requested: p.requested, failures: p.failures, metrics: metrics))
      }
    }
    var splits = [String: SplitInfo]()
    for (name, ids) in exp.splits.named { splits[name] = SplitInfo(count: ids.count, sha256: Splits.sha256(ids)) }
    let failed = Set(rows.flatMap { $0.failures.map(\.job) }).count
    return EvaluationReport(
      toolVersion: toolVersion, name: exp.spec.name, config: exp.spec.yaml, dataset: exp.spec.dataset.path,
      datasetFileListSHA256: exp.dataset.fileListSHA256, datasetSHA256: exp.dataset.contentSHA256, splits: splits,
      originalWeightsSHA256: try store.originalWeightsSHA256(), modelsPerAlgorithm: runner.models,
      rounds: outcome.rounds.map { SplitInfo(count: $0.forget.count, sha256: Splits.sha256($0.forget)) },
      columns: scorer.columns, rows: rows, power: PowerCheck.checks(columns: scorer.columns, rows: rows),
      notes: notes(
        rounds: outcome.rounds, failedJobs: failed, originals: exp.spec.evaluation.originals,
        ownReferences: outcome.populations.first?.map(\.role).filter {
          if case .ownReference = $0 { return true } else { return false }
        } ?? [],
        warnings: scorer.metrics.flatMap { $0.warnings(models: runner.models) }))
  }

  /// The notes under the tables; `warnings` first, each marked as one.
  static func notes(
    rounds: [DeletionRound], failedJobs: Int, originals: Int, ownReferences: [Role], warnings: [String]
  ) -> [String] {
    var notes = warnings.map { "Warning: \($0)" }
    notes += [
      originals == 1
        ? "original: the model before unlearning (one model; the N unlearned models all start from it, and the "
          + "challenge score treats it as N identical copies)."
        : "original: the \(originals) models before unlearning (evaluation.originals, trained with different "
          + "seeds); unlearned model i starts from original i mod \(originals), so spreads include training variance.",
      "retrain: models retrained from scratch on the retain set, the reference; a reference row's F, score and "
        + "distances compare its first half with its second half (the noise floor).",
    ]
    for r in ownReferences {
      notes.append(
        "\(r.name): \(r.jobName ?? "")'s own exact reference, its training from scratch on the retain set (for "
          + "SISA: the original's shards, slices and initialisations, never a checkpoint); \(r.jobName ?? "")'s "
          + "comparisons (F, distances, attacks) are read against it, and its accuracies against retrain's show "
          + "the utility cost of the method.")
    }
    notes += [
      "original-seeds: models trained on the whole training set with other seeds (no unlearning; the IN "
        + "references of LiRA and RMIA); its F is what the seeds' spread alone earns without forgetting anything.",
      "Directions: ↑ higher is better, ↓ lower is better, ≈R best when closest to the reference row, →x best at "
        + "the exact ideal x (chance for an attack). ± is the standard deviation over models; attack intervals "
        + "resample both models and forget examples (results.json: columns[].uncertainty).",
      "Flags (‡) mark values that cannot be read at face value: an FPR too low to certify with so few distinct "
        + "non-member examples, or F computed on (nearly) identical models.",
    ]
    if failedJobs > 0 { notes.append("\(failedJobs) job(s) failed; see rows[].failures.") }
    if rounds.count > 1 {
      notes.append(
        "\(rounds.count) sequential deletion rounds of \(rounds[0].forget.count) examples: each algorithm unlearns "
          + "them in order from its previous round's model; each round is scored against models retrained from "
          + "scratch on what is left, and on that round's forget batch.")
    }
    return notes
  }

  /// `results.json`.
  public func json() throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    enc.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try enc.encode(self)
  }

  /// Deletion rounds in the report.
  /// The distinct jobs that failed (a job of several rounds or rows counts once).
  public var failedJobs: Int {
    Set(rows.flatMap { $0.failures.map { "\($0.algorithm)/\($0.group ?? "")/\($0.index)" } }).count
  }

  public var roundCount: Int { rows.map(\.round).max() ?? 1 }

  /// Rows of round `round` (1-based).
  public func rows(round: Int) -> [Row] { rows.filter { $0.round == round } }

  /// The row of `role` in round `round` (1-based).
  public func row(_ role: Role, round: Int = 1) -> Row? { rows.first { $0.role == role && $0.round == round } }
}
