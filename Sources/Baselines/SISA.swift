import Foundation
import Harness
import Networks
import NumericCore

/// SISA training (Sharded, Isolated, Sliced, Aggregated; Bourtoule et al.,
/// "Machine Unlearning", IEEE S&P 2021): exact unlearning by design.
///
/// The training set is cut at random into S disjoint shards and each shard into
/// R disjoint slices. Shard k's sub-model trains incrementally: stage r trains
/// on slices 0…r for e = round(2E/(R + 1)) epochs, which makes a shard's total
/// work E epochs of the whole shard, as in the authors' `sisa.py`; the weights
/// before each stage are kept as checkpoints c_{k,r}. Predictions aggregate the S sub-models (mean of their
/// softmax outputs, or majority vote).
///
/// Unlearning a set F: for every shard k holding an example of F, let r_k be the
/// first slice that holds one; restart from c_{k,r_k} and redo stages r_k…R−1 on
/// the slices without F. Untouched shards keep their sub-models. Since no stage
/// that is kept ever saw F, the result is exactly a SISA model trained without F.
///
/// ```
/// work redone = Σ_{affected k} Σ_{r ≥ r_k} e_r·|slices 0…r of k \ F|  ÷  E·|retain|
/// ```
/// (the denominator is retraining one monolithic model from scratch). The returned
/// model carries the updated slices and checkpoints, so a later deletion round
/// starts from them (``UnlearnedModel/state``).
/// With S = 1 and R = 1, SISA is retraining: for the same seed it returns
/// bit for bit the model of ``Retrain``.
///
/// Hyper-parameters (`algorithms.sisa`): `shards` (default 5, the paper's
/// smallest setting for Purchase/SVHN is 5–20), `slices` (default 4),
/// `aggregation` (`mean` or `vote`; the paper's reference code votes, default
/// `mean`), and the training keys (default: the experiment's recipe).
/// Defaults: `shards` 5, `slices` 4, `aggregation` mean; the training keys: the experiment's recipe.
public struct SISA: UnlearningAlgorithm {
  public var name: String { "sisa" }
  /// Scored against SISA ensembles trained from scratch on the retain set with the same shards
  /// and slices, not against the monolithic retrained networks.
  public var hasOwnReference: Bool { true }
  public var kind: UnlearningKind { .exact }
  public var shards: Int
  public var slices: Int
  public var aggregation: UnlearnedModel.Aggregation
  /// Recipe override (nil: the experiment's).
  public var training: TrainingConfig?

  public init(
    shards: Int = 5, slices: Int = 4, aggregation: UnlearnedModel.Aggregation = .mean, training: TrainingConfig? = nil
  ) {
    self.shards = shards
    self.slices = slices
    self.aggregation = aggregation
    self.training = training
  }

  /// Reads `algorithms.sisa`.
  public init(parameters r: ConfigReader, experimentTraining: TrainingConfig) throws {
    shards = try r.int("shards", default: 5, range: 1...10_000)
    slices = try r.int("slices", default: 4, range: 1...10_000)
    let agg = try r.string("aggregation", default: "mean")
    guard let a = UnlearnedModel.Aggregation(rawValue: agg) else {
      throw r.fail("aggregation", "must be mean or vote, got \(agg)")
    }
    aggregation = a
    training = try r.training(defaults: experimentTraining)
    try r.finish()
  }

  public var hyperParameters: [String: ConfigValue] {
    var h = training?.configValues ?? [:]
    h["shards"] = .int(shards)
    h["slices"] = .int(slices)
    h["aggregation"] = .string(aggregation.rawValue)
    return h
  }

  /// What SISA keeps after training: the partition and every checkpoint.
  public struct State: Sendable {
    /// Dataset ids of slice r of shard k, sorted: `slices[k][r]`.
    public var slices: [[[Int]]]
    /// Weights of shard k before stage r: `checkpoints[k][r]`.
    public var checkpoints: [[ModelWeights]]
    /// The trained sub-models.
    public var members: [ModelWeights]
    /// Epochs of each stage.
    public var stageEpochs: [Int]
    /// The seed the original was trained with (its stages' shuffling).
    public var seed: UInt64
  }

  /// Epochs of every stage: round(2E/(R + 1)), so that Σ_r e·(r + 1)·|slice| = E·|shard|.
  func stageEpochs(_ epochs: Int) -> [Int] {
    let e = Int((2 * Double(epochs) / Double(slices + 1)).rounded())
    return Array(repeating: epochs > 0 ? Swift.max(1, e) : 0, count: slices)
  }

  public func validate() throws {
    try check(shards >= 1, name, "shards", "must be at least 1, got \(shards)")
    try check(slices >= 1, name, "slices", "must be at least 1, got \(slices)")
    try check(aggregation != .single, name, "aggregation", "must be mean or vote, got single")
    try checkRecipe(training, name)
  }

  func validate(examples n: Int) throws {
    try validate()
    guard n >= shards * slices else {
      throw HarnessError(
        "algorithms.sisa",
        "\(shards) shards × \(slices) slices need at least \(shards * slices) training examples, got \(n)")
    }
  }

  public func trainOriginal(_ request: OriginalTrainingRequest) throws -> TrainedOriginal? {
    let recipe = training ?? request.training
    let ids = request.trainIDs
    try validate(examples: ids.count)
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "sisa", "partition"))
    let perm = rng.permutation(ids.count).map { ids[$0] }
    func cut(_ a: [Int], _ parts: Int) -> [[Int]] {
      (0..<parts).map { p in Array(a[(p * a.count / parts)..<((p + 1) * a.count / parts)]) }
    }
    let partition = cut(perm, shards).map { shard in cut(shard, slices).map { $0.sorted() } }
    let row = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
    let epochs = stageEpochs(recipe.epochs)
    var checkpoints = [[ModelWeights]](), members = [ModelWeights]()
    for k in 0..<shards {
      let net = try Network.initialized(
        request.architecture, seed: ScratchSeeds.initialization(request.seed, shard: k), batchSize: recipe.batchSize)
      var saved = [ModelWeights]()
      for r in 0..<slices {
        saved.append(net.weights)
        let data = request.train.subset(partition[k][0...r].flatMap { $0 }.sorted().map { row[$0]! })
        var stage = recipe
        stage.epochs = epochs[r]
        try Trainer.train(net, on: data, config: stage, seed: ScratchSeeds.shuffle(request.seed, shard: k, slice: r))
      }
      checkpoints.append(saved)
      members.append(net.weights)
    }
    let state = State(
      slices: partition, checkpoints: checkpoints, members: members, stageEpochs: epochs, seed: request.seed)
    return TrainedOriginal(model: UnlearnedModel(ensemble: members, aggregation: aggregation), state: state)
  }

  /// SISA trained from scratch on the retain set: the original's shards and slices without the
  /// examples forgotten so far, each shard from the original's initialisation, and each stage
  /// shuffled with the seed SISA's unlearning would have used: the original's for stages before
  /// the shard's first slice that held a forget example, the round's for the rest. It never
  /// reads a checkpoint or a trained sub-model, so it checks the unlearning's claim: with the
  /// same seed the unlearned model is this model bit for bit, and over seeds the two are
  /// identically distributed (what an exact method's F against its reference measures).
  public func trainReference(_ request: ReferenceTrainingRequest) throws -> UnlearnedModel {
    try validate()
    guard let state = request.own.state as? State else {
      throw HarnessError("sisa", "needs the original it trained itself (the runner calls trainOriginal first)")
    }
    let recipe = training ?? request.training
    let row = Dictionary(uniqueKeysWithValues: request.retainIDs.enumerated().map { ($1, $0) })
    let forgotten = Set(request.forgetRounds.joined())
    var members = [ModelWeights]()
    for k in 0..<shards {
      var seeds = (0..<slices).map { ScratchSeeds.shuffle(state.seed, shard: k, slice: $0) }
      for (t, forget) in request.forgetRounds.enumerated() {
        let f = Set(forget)
        guard let first = state.slices[k].firstIndex(where: { $0.contains(where: f.contains) }) else { continue }
        for r in first..<slices { seeds[r] = ScratchSeeds.shuffle(request.roundSeeds[t], shard: k, slice: r) }
      }
      let net = try Network(weights: state.checkpoints[k][0], maxBatch: Swift.max(recipe.batchSize, 256))
      for r in 0..<slices {
        let kept = state.slices[k][0...r].flatMap { $0 }.filter { !forgotten.contains($0) }.sorted()
        let rows = try kept.map { id -> Int in
          guard let i = row[id] else { throw HarnessError("sisa", "example \(id) is neither retained nor forgotten") }
          return i
        }
        var stage = recipe
        stage.epochs = state.stageEpochs[r]
        try Trainer.train(net, on: request.retain.subset(rows), config: stage, seed: seeds[r])
      }
      members.append(net.weights)
    }
    return UnlearnedModel(ensemble: members, aggregation: aggregation)
  }

  /// Fails with ``NetworkError/deadlineExceeded`` when the time budget runs out.
  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    guard let state = request.own?.state as? State else {
      throw HarnessError("sisa", "needs the original it trained itself (the runner calls trainOriginal first)")
    }
    let recipe = training ?? request.training
    let forget = Set(request.forgetIDs)
    let retainRow = Dictionary(uniqueKeysWithValues: request.retainIDs.enumerated().map { ($1, $0) })
    var next = state
    var work = 0.0
    for k in 0..<shards {
      guard let first = state.slices[k].firstIndex(where: { $0.contains(where: forget.contains) }) else { continue }
      for r in first..<slices { next.slices[k][r] = state.slices[k][r].filter { !forget.contains($0) } }
      let net = try Network(weights: state.checkpoints[k][first], maxBatch: Swift.max(recipe.batchSize, 256))
      for r in first..<slices {
        next.checkpoints[k][r] = net.weights
        let kept = next.slices[k][0...r].flatMap { $0 }.sorted()
        let rows = try kept.map { id -> Int in
          guard let i = retainRow[id] else {
            throw HarnessError("sisa", "example \(id) is neither in the retain nor the forget set")
          }
          return i
        }
        var stage = recipe
        stage.epochs = state.stageEpochs[r]
        try Trainer.train(
          net, on: request.retain.subset(rows), config: stage,
          seed: ScratchSeeds.shuffle(request.seed, shard: k, slice: r),
          deadline: request.deadline)
        work += Double(stage.epochs * rows.count)
      }
      next.members[k] = net.weights
    }
    let full = Double(recipe.epochs * request.retain.count)
    return UnlearnedModel(
      ensemble: next.members, aggregation: aggregation, workFraction: full > 0 ? work / full : 0, state: next)
  }
}
