import Foundation
import Harness
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Baselines

/// A small digits experiment (MLP 64-16-10, 5 epochs) with its original model, trained once.
enum Small {
  static let experiment = TestSupport.smallDigitsExperiment(epochs: 5)
  static let original: ModelWeights = try! experiment.trainOriginal()

  static func request(seed: UInt64, forget ids: [Int]? = nil, own: TrainedOriginal? = nil) -> UnlearningRequest {
    let e = experiment
    let forget = ids ?? e.splits.forget
    let retain = e.splits.train.filter { !Set(forget).contains($0) }
    return UnlearningRequest(
      original: original, forget: e.examples(forget), retain: e.examples(retain),
      validation: e.examples(e.splits.validation),
      forgetIDs: forget, retainIDs: retain, training: e.spec.training, seed: seed, own: own)
  }

  static func trainRequest(seed: UInt64) -> OriginalTrainingRequest {
    let e = experiment
    return OriginalTrainingRequest(
      architecture: e.architecture, train: e.examples(e.splits.train), trainIDs: e.splits.train,
      training: e.spec.training, seed: seed)
  }

  static func loss(_ w: ModelWeights, _ split: [Int]) throws -> Double {
    try Network(weights: w).loss(experiment.examples(split))
  }
}

@Suite struct SISATests {
  @Test func oneShardOneSlice_isBitForBitRetraining() throws {
    let sisa = SISA(shards: 1, slices: 1)
    for seed: UInt64 in [3, 11] {
      let own = try #require(try sisa.trainOriginal(Small.trainRequest(seed: seed)))
      let unlearned = try sisa.unlearn(Small.request(seed: seed, own: own))
      let retrained = try Retrain().unlearn(Small.request(seed: seed))
      #expect(unlearned.members == retrained.members)
      #expect(unlearned.aggregation == .single)
      let x = Small.experiment.examples(Small.experiment.splits.test).features
      #expect(try unlearned.logits(x) == retrained.logits(x))
      #expect(unlearned.workFraction == 1)
    }
  }

  @Test func onlyShardsHoldingForgetExamplesAreRetrained_fromTheRightCheckpoint() throws {
    let sisa = SISA(shards: 4, slices: 3)
    let own = try #require(try sisa.trainOriginal(Small.trainRequest(seed: 5)))
    let state = try #require(own.state as? SISA.State)
    #expect(Set(state.slices.flatMap { $0.flatMap { $0 } }) == Set(Small.experiment.splits.train))
    // Forget two examples of shard 2's last slice.
    let forget = Array(state.slices[2][2].prefix(2))
    let late = try sisa.unlearn(Small.request(seed: 7, forget: forget, own: own))
    for k in [0, 1, 3] { #expect(late.members[k] == state.members[k], "shard \(k) was retrained") }
    #expect(late.members[2] != state.members[2])
    // Work: only the last stage of shard 2, on its slices without the two examples.
    let e = state.stageEpochs
    let kept = state.slices[2].flatMap { $0 }.count - 2
    let retain = Small.experiment.splits.train.count - 2
    #expect(late.workFraction == Double(e[2] * kept) / Double(Small.experiment.spec.training.epochs * retain))
    // The same shard from scratch: stages 0–1 as originally trained (seed 5), stage 2 without F (seed 7).
    let net = try Network(weights: state.checkpoints[2][2], maxBatch: 256)
    let train = Small.experiment
    var stage = train.spec.training
    stage.epochs = e[2]
    let keptIDs = state.slices[2].flatMap { $0 }.filter { !forget.contains($0) }.sorted()
    try Trainer.train(
      net, on: train.examples(keptIDs), config: stage, seed: ScratchSeeds.shuffle(7, shard: 2, slice: 2))
    #expect(net.weights == late.members[2])
    // Forgetting from the first slice redoes more work.
    let early = try sisa.unlearn(Small.request(seed: 7, forget: Array(state.slices[1][0].prefix(2)), own: own))
    #expect(early.workFraction! > late.workFraction!)
    #expect(early.members[2] == state.members[2])
  }

  @Test func aLaterRound_startsFromTheUpdatedCheckpoints() throws {
    let sisa = SISA(shards: 4, slices: 3)
    let own = try #require(try sisa.trainOriginal(Small.trainRequest(seed: 5)))
    let state = try #require(own.state as? SISA.State)
    let first = Array(state.slices[1][1].prefix(1))
    let round1 = try sisa.unlearn(Small.request(seed: 7, forget: first, own: own))
    let after = try #require(round1.state as? SISA.State)
    #expect(after.slices[1][1].count == state.slices[1][1].count - 1)
    #expect(after.checkpoints[1][0] == state.checkpoints[1][0] && after.checkpoints[1][1] == state.checkpoints[1][1])
    #expect(after.checkpoints[1][2] != state.checkpoints[1][2])
    #expect(after.members[1] == round1.members[1])
    // Round 2 forgets from shard 3 only: shard 1 keeps its round-1 model.
    let second = Array(state.slices[3][2].prefix(1))
    var req = Small.request(seed: 8, forget: second, own: TrainedOriginal(model: round1, state: after))
    req.retainIDs = req.retainIDs.filter { !first.contains($0) }
    req.retain = Small.experiment.examples(req.retainIDs)
    let round2 = try sisa.unlearn(req)
    #expect(round2.members[1] == round1.members[1] && round2.members[0] == state.members[0])
    #expect(round2.members[3] != state.members[3])
  }

  /// SISA's own reference trains from scratch on retain (never reading a checkpoint): with the
  /// unlearning's seeds it is the unlearned model bit for bit, in one round and over two.
  @Test func theOwnReference_isTheUnlearnedModelBitForBit() throws {
    let sisa = SISA(shards: 4, slices: 3)
    let own = try #require(try sisa.trainOriginal(Small.trainRequest(seed: 5)))
    let state = try #require(own.state as? SISA.State)
    let e = Small.experiment
    func reference(_ rounds: [[Int]], seeds: [UInt64]) throws -> UnlearnedModel {
      let retain = e.splits.train.filter { !Set(rounds.joined()).contains($0) }
      return try sisa.trainReference(
        ReferenceTrainingRequest(
          architecture: e.architecture, retain: e.examples(retain), retainIDs: retain, forgetRounds: rounds,
          training: e.spec.training, roundSeeds: seeds, own: own))
    }
    // One round: the default forget set touches every shard (from various slices).
    let unlearned = try sisa.unlearn(Small.request(seed: 7, own: own))
    #expect(try reference([e.splits.forget], seeds: [7]).members == unlearned.members)
    // Another seed: a different model (the reference is not a copy of anything stored).
    #expect(try reference([e.splits.forget], seeds: [8]).members != unlearned.members)
    // Two rounds: shard 1's slice 1, then shard 3's slice 2 and shard 1's slice 0.
    let first = Array(state.slices[1][1].prefix(1))
    let round1 = try sisa.unlearn(Small.request(seed: 7, forget: first, own: own))
    let second = [state.slices[3][2][0], state.slices[1][0][0]]
    var req = Small.request(seed: 9, forget: second, own: TrainedOriginal(model: round1, state: round1.state!))
    req.retainIDs = req.retainIDs.filter { !first.contains($0) }
    req.retain = e.examples(req.retainIDs)
    let round2 = try sisa.unlearn(req)
    #expect(try reference([first, second], seeds: [7, 9]).members == round2.members)
    #expect(try reference([first], seeds: [7]).members == round1.members)
  }

  @Test func aggregation_meanAndVote() throws {
    let a = try #require(try SISA(shards: 3, slices: 1, aggregation: .mean).trainOriginal(Small.trainRequest(seed: 2)))
    let x = Small.experiment.examples(Array(Small.experiment.splits.test.prefix(20))).features
    let z = try a.model.logits(x)
    // Mean: exp(logits) is the mean of the members' softmax (rows sum to 1).
    for i in 0..<20 {
      let s = z.scalars[(i * 10)..<((i + 1) * 10)].reduce(Float(0)) { $0 + expf($1) }
      #expect(abs(s - 1) < 1e-4)
    }
    var vote = a.model
    vote.aggregation = .vote
    let v = try vote.logits(x)
    let memberArgmax = try a.model.members.map { try Network(weights: $0).logits(x) }
    for i in 0..<20 {
      var votes = [Int](repeating: 0, count: 10)
      for m in memberArgmax {
        let row = Array(m.scalars[(i * 10)..<((i + 1) * 10)])
        votes[row.firstIndex(of: row.max()!)!] += 1
      }
      let row = Array(v.scalars[(i * 10)..<((i + 1) * 10)])
      #expect(votes[row.firstIndex(of: row.max()!)!] == votes.max())
    }
  }
}

@Suite struct InfluenceTests {
  /// Full-batch gradient descent to the optimum of L2-regularised softmax regression.
  static func converge(_ examples: LabeledExamples, l2: Float) throws -> ModelWeights {
    let arch = Architecture(kind: .softmax, inputShape: [1, 8, 8], numClasses: 10)
    let net = try Network(architecture: arch, maxBatch: examples.count)
    net.initialize(seed: 1)
    let config = TrainingConfig(
      epochs: 4000, batchSize: examples.count, optimizer: .sgd, learningRate: 0.5, momentum: 0.9, weightDecay: l2,
      schedule: .constant)
    try Trainer.train(net, on: examples, config: config, seed: 1)
    return net.weights
  }

  @Test func newtonStep_landsNextToTheRetrainedOptimum() throws {
    let e = Small.experiment
    let l2: Float = 0.01
    let original = try Self.converge(e.examples(e.splits.train), l2: l2)
    let retrained = try Self.converge(e.examples(e.splits.retain), l2: l2)
    var req = Small.request(seed: 1)
    req.original = original
    req.training.weightDecay = l2
    let step = try InfluenceRemoval(l2: Double(l2), damping: 0).unlearn(req).members[0]
    let before = original.distance(to: retrained), after = step.distance(to: retrained)
    #expect(after <= 0.05 * before, "influence step left \(after) of \(before)")
    // The CG solver with finite-difference Hessian products agrees on this convex problem.
    let cg = try InfluenceRemoval(l2: Double(l2), damping: 0, cgIterations: 200, solver: "cg", gradient: "retain")
      .unlearn(req).members[0]
    #expect(cg.distance(to: retrained) <= 0.05 * before, "CG step left \(cg.distance(to: retrained)) of \(before)")
  }
}

@Suite struct BaselineBehaviourTests {
  @Test func retrainAndFinetune_neverLookAtTheForgetSet() throws {
    let garbage = Small.experiment.examples(Array(Small.experiment.splits.test.prefix(7)))
    for a: any UnlearningAlgorithm in [Retrain(), Finetune()] {
      var req = Small.request(seed: 3)
      let clean = try a.unlearn(req)
      req.forget = garbage
      #expect(try a.unlearn(req) == clean, "\(a.name)")
    }
  }

  @Test func gradientAscent_raisesTheForgetLoss() throws {
    let w = try GradientAscent().unlearn(Small.request(seed: 4)).members[0]
    let forget = Small.experiment.splits.forget
    #expect(try Small.loss(w, forget) > Small.loss(Small.original, forget) + 0.01)
  }

  @Test func finetune_lowersTheRetainLossOfAFreshModel() throws {
    var req = Small.request(seed: 5)
    let net = try Network(architecture: Small.original.architecture)
    net.initialize(seed: 9)
    req.original = net.weights
    let w = try Finetune().unlearn(req).members[0]
    let retain = Small.experiment.splits.retain
    #expect(try Small.loss(w, retain) < Small.loss(req.original, retain) - 0.5)
  }

  /// As the authors' code: redrawn every epoch, uniformly over all classes (right with probability 1/C),
  /// and only the forget rows.
  @Test func randomLabels_areRedrawnEveryEpoch_uniformlyOverTheClasses() throws {
    var draws = RandomLabelDraws(Small.request(seed: 1), seed: 3)
    let forget = Small.experiment.examples(Small.experiment.splits.forget)
    var labels = draws.data.labels
    let retainCount = labels.count - forget.count
    var counts = [Int](repeating: 0, count: 10), right = 0, previous = [Int32]()
    for epoch in 0..<200 {
      draws.redraw(&labels)
      let drawn = Array(labels.suffix(forget.count))
      #expect(Array(labels.prefix(retainCount)) == Array(draws.data.labels.prefix(retainCount)))
      if epoch > 0 { #expect(drawn != previous) }
      previous = drawn
      for (d, y) in zip(drawn, forget.labels) {
        counts[Int(d)] += 1
        if d == y { right += 1 }
      }
    }
    let total = Double(200 * forget.count)
    // 10 classes: each about 10 % of the draws (a 5σ band), and the true label about 1 in 10.
    for c in counts { #expect(abs(Double(c) / total - 0.1) < 5 * (0.09 / total).squareRoot(), "\(counts)") }
    #expect(abs(Double(right) / total - 0.1) < 5 * (0.09 / total).squareRoot())
  }

  /// The noise variance as the authors' `get_mean_var`: α·min(1/(F + 1e-8), cap) with cap 1e2
  /// for the output layer and 1e3 otherwise, averaged over dim 1 only, ×10 for the output layer
  /// and for 1-D parameters. Expected values by hand.
  @Test func fisher_varianceFollowsTheAuthorsCode() {
    func close(_ a: [Double], _ b: [Double]) -> Bool {
      a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-7 * Swift.max(1, abs($1)) }
    }
    let f = [1, 0.5, 0.25, 0, 1e9, 1]
    // Linear [2 out, 3 in], hidden layer: row means of [1, 2, 4] and [1e3 (capped), 1e-9, 1].
    let hidden = FisherForgetting.variance(f, shape: [2, 3], alpha: 1, outputLayer: false)
    let a: Double = 7.0 / 3, b: Double = 1001.0 / 3
    #expect(close(hidden, [a, a, a, b, b, b]), "\(hidden)")
    // The output layer: cap 1e2, then ×10.
    let output = FisherForgetting.variance(f, shape: [2, 3], alpha: 1, outputLayer: true)
    let c: Double = 70.0 / 3, d: Double = 1010.0 / 3
    #expect(close(output, [c, c, c, d, d, d]), "\(output)")
    // A bias (1-D): no averaging, ×10; α scales everything.
    #expect(close(FisherForgetting.variance([1, 0, 4], shape: [3], alpha: 2, outputLayer: false), [20, 2e4, 5]))
    // A convolution [1 out, 2 in, 1, 2]: averaged over the input channels, each kernel position apart.
    let conv = FisherForgetting.variance([1, 2, 4, 8], shape: [1, 2, 1, 2], alpha: 1, outputLayer: false)
    #expect(close(conv, [0.625, 0.3125, 0.625, 0.3125]), "\(conv)")
  }

  @Test func salun_updatesOnlyTheSalientHalf() throws {
    let s = SalUn(maskRatio: 0.5)
    let net = try Network(weights: Small.original)
    let mask = s.saliencyMask(net, forget: Small.experiment.examples(Small.experiment.splits.forget))
    let ones = mask.array.filter { $0 == 1 }.count
    #expect(abs(Double(ones) / Double(mask.count) - 0.5) < 0.01)
    // With no weight decay, masked-out parameters do not move.
    var t = RandomLabels.defaults
    t.weightDecay = 0
    let w = try SalUn(maskRatio: 0.5, training: t).unlearn(Small.request(seed: 2)).members[0]
    for i in 0..<mask.count where mask[i] == 0 { #expect(w.parameters[i] == Small.original.parameters[i]) }
  }

  @Test func ssd_onlyShrinksParameters() throws {
    let w = try SSD().unlearn(Small.request(seed: 1)).members[0]
    var changed = 0
    for (a, b) in zip(w.parameters, Small.original.parameters) {
      #expect(abs(a) <= abs(b))
      if a != b { changed += 1 }
    }
    #expect(changed > 0)
  }

  @Test func hyperParameters_readFromTheConfigWithDefaults() throws {
    let spec = try ExperimentSpec.load(
      yaml:
        """
        algorithms:
          finetune: {epochs: 2}
          retrain: {learning_rate: 0.01}
          sisa: {shards: 3, aggregation: vote}

        """,
      file: "c.yaml")
    let f = try Finetune(parameters: spec.algorithms["finetune"]!.reader(algorithm: "finetune"))
    #expect(f.training.epochs == 2 && f.training.learningRate == Finetune.defaults.learningRate)
    let r = try Retrain(
      parameters: spec.algorithms["retrain"]!.reader(algorithm: "retrain"), experimentTraining: spec.training)
    #expect(r.training?.learningRate == 0.01 && r.training?.epochs == spec.training.epochs)
    #expect(f.hyperParameters["learning_rate"] == .double(0.1))
    let s = try SISA(parameters: spec.algorithms["sisa"]!.reader(algorithm: "sisa"), experimentTraining: spec.training)
    #expect(s.shards == 3 && s.slices == 4 && s.aggregation == .vote)
    #expect(throws: HarnessError.self) {
      try SISA(
        parameters: HyperParameters(["aggregation": .string("single")]).reader(algorithm: "sisa"),
        experimentTraining: spec.training
      ).validate()
    }
  }
}
