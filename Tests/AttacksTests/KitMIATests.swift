import Foundation
import NumericCore
import TestSupport
import Testing

@testable import Attacks

@Suite struct LogisticRegressionTests {
  @Test func matchesScikitLearnsOptimum_1D() {
    // sklearn.linear_model.LogisticRegression(tol=1e-12, max_iter=10000) on the same data
    // gives coef -1.20261549823685, intercept 0.9468371602834512.
    let x = [0.1, 0.4, 0.35, 0.8, 1.2, 0.05, 2.5, 0.3, 0.9, 1.7, 0.02, 0.6, 3.1, 0.45, 1.1, 0.2]
    let y = [1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0].map { $0 == 1 }
    let m = LogisticRegression.fit(features: x, labels: y, dimensions: 1)
    #expect(TestSupport.close(m.weights[0], -1.20261549823685, rtol: 1e-7))
    #expect(TestSupport.close(m.intercept, 0.9468371602834512, rtol: 1e-7))
  }

  @Test func matchesScikitLearnsOptimum_2D_withC() {
    // LogisticRegression(C=0.5): coef [-0.6994992506452468, -0.4878480943783468], intercept 0.7016671961763442.
    let x: [Double] = [0.1, 1, 0.4, -1, 0.35, 2, 0.8, 0.5, 1.2, -0.3, 0.05, 0.7, 2.5, 1.5, 0.3, -2, 0.9, 0.1, 1.7, 0.2]
    let y = [1, 1, 0, 0, 0, 1, 0, 1, 1, 0].map { $0 == 1 }
    let m = LogisticRegression.fit(features: x, labels: y, dimensions: 2, c: 0.5)
    #expect(TestSupport.close(m.weights[0], -0.6994992506452468, rtol: 1e-7))
    #expect(TestSupport.close(m.weights[1], -0.4878480943783468, rtol: 1e-7))
    #expect(TestSupport.close(m.intercept, 0.7016671961763442, rtol: 1e-7))
  }

  @Test func separableData_staysBoundedAndPredictsRight() {
    let x = [0.0, 0.1, 0.2, 5, 5.1, 5.2]
    let y = [false, false, false, true, true, true]
    let m = LogisticRegression.fit(features: x, labels: y, dimensions: 1)
    #expect(m.weights[0].isFinite && m.weights[0] > 0)
    #expect(m.predict(features: x) == y)
  }
}

@Suite struct KitMIATests {
  @Test func sameDistribution_isNearChance() throws {
    var rng = Xoshiro256StarStar(seed: 1)
    var accs = [Double]()
    for trial in 0..<20 {
      let f = (0..<200).map { _ in abs(rng.nextGaussian()) }, t = (0..<200).map { _ in abs(rng.nextGaussian()) }
      accs.append(try KitMIA.accuracy(forgetLosses: f, testLosses: t, seed: UInt64(trial)))
    }
    let mean = accs.reduce(0, +) / Double(accs.count)
    #expect(abs(mean - 0.5) < 0.04, "mean accuracy \(mean)")
  }

  @Test func separatedLosses_areFound() throws {
    var rng = Xoshiro256StarStar(seed: 2)
    let forget = (0..<150).map { _ in 0.01 * abs(rng.nextGaussian()) }  // members: tiny loss
    let test = (0..<300).map { _ in 2 + abs(rng.nextGaussian()) }  // non-members: large loss
    #expect(try KitMIA.accuracy(forgetLosses: forget, testLosses: test, seed: 0) == 1)
  }

  @Test func isDeterministicForASeed_andBalances() throws {
    let f = (0..<50).map { Double($0) / 50 }, t = (0..<80).map { Double($0) / 70 }
    let a = try KitMIA.accuracy(forgetLosses: f, testLosses: t, seed: 9)
    #expect(a == (try KitMIA.accuracy(forgetLosses: f, testLosses: t, seed: 9)))
    let splits = KitMIA.stratifiedShuffleSplits(
      labels: Array(repeating: false, count: 50) + Array(repeating: true, count: 50), seed: 3)
    #expect(splits.count == 10)
    for (train, test) in splits {
      #expect(test.count == 10 && train.count == 90)
      #expect(Set(train).isDisjoint(with: test))
      #expect(test.filter { $0 >= 50 }.count == 5)  // stratified: half members
    }
  }

  @Test func crossEntropyLosses_byHand() {
    let z = Tensor(shape: [2, 3], scalars: [0, 0, 0, 2, 0, -1])
    let l = KitMIA.crossEntropyLosses(logits: z, labels: [1, 0])
    #expect(TestSupport.close(l[0], log(3)))
    #expect(TestSupport.close(l[1], log(exp(2.0) + 1 + exp(-1.0)) - 2))
  }

  @Test func rejectsBadInput() {
    #expect(throws: AttackError.self) { try KitMIA.accuracy(forgetLosses: [], testLosses: [1], seed: 0) }
    #expect(throws: AttackError.self) {
      try KitMIA.accuracy(
        forgetLosses: Array(repeating: .nan, count: 20), testLosses: Array(repeating: 1, count: 20), seed: 0)
    }
  }
}
