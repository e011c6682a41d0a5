/// SplitMix64 (Steele, Lea & Flood 2014): a tiny 64-bit generator used to seed
/// ``Xoshiro256StarStar`` and to mix seeds.
///
/// ```
/// s ← s + 0x9E3779B97F4A7C15
/// z ← (s ⊕ (s >> 30)) · 0xBF58476D1CE4E5B9
/// z ← (z ⊕ (z >> 27)) · 0x94D049BB133111EB
/// return z ⊕ (z >> 31)
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
  public private(set) var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// xoshiro256** (Blackman & Vigna 2018): the harness's random generator.
/// Seeded through SplitMix64 as its authors recommend. Every random stream is
/// created explicitly from a seed (see ``Seeds``); there is no global RNG.
///
/// The generator and the draws on it are inlinable, so that callers in other modules get
/// specialised code rather than calls through the protocol's witness table.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
  @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

  public init(seed: UInt64) {
    var sm = SplitMix64(seed: seed)
    s0 = sm.next()
    s1 = sm.next()
    s2 = sm.next()
    s3 = sm.next()
  }

  @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  @inlinable
  public mutating func next() -> UInt64 {
    let result = Self.rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = Self.rotl(s3, 45)
    return result
  }
}

extension RandomNumberGenerator {
  /// A uniform `Float` in [0, 1) from the top 24 bits (every value equally likely).
  @inlinable
  public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1.0p-24 }

  /// A uniform `Double` in [0, 1) from the top 53 bits.
  @inlinable
  public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// A uniform integer in `0..<bound` without modulo bias (Lemire's method).
  @inlinable
  public mutating func nextIndex(below bound: Int) -> Int {
    precondition(bound > 0)
    let b = UInt64(bound)
    var m = next().multipliedFullWidth(by: b)
    if m.low < b {
      let threshold = (0 &- b) % b
      while m.low < threshold { m = next().multipliedFullWidth(by: b) }
    }
    return Int(m.high)
  }

  /// A standard normal `Double` (Box–Muller).
  @inlinable
  public mutating func nextGaussian() -> Double {
    var u = nextUnitDouble()
    while u == 0 { u = nextUnitDouble() }
    let v = nextUnitDouble()
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }

  /// A permutation of `0..<n` (Fisher–Yates). Implemented here rather than with
  /// `shuffle(using:)` so that results never depend on the standard library version.
  @inlinable
  public mutating func permutation(_ n: Int) -> [Int] {
    var a = Array(0..<n)
    shuffleInPlace(&a)
    return a
  }

  /// Shuffles `a` in place (Fisher–Yates, stable across toolchains). Inlinable, so that
  /// callers in other modules get a specialised loop (the generic one allocated on every swap).
  @inlinable
  public mutating func shuffleInPlace<T>(_ a: inout [T]) {
    var i = a.count - 1
    while i > 0 {
      let j = nextIndex(below: i + 1)
      if i != j { a.swapAt(i, j) }
      i -= 1
    }
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Derivation of independent seeds from an experiment seed and a path of names,
/// e.g. `Seeds.derive(7, "retrain", "job", "12")`. The result is the first 8
/// bytes of SHA-256 over the seed and the names, so streams for different roles
/// never collide and do not depend on scheduling.
public enum Seeds {
  public static func derive(_ seed: UInt64, _ path: String...) -> UInt64 { derive(seed, path: path) }

  public static func derive(_ seed: UInt64, path: [String]) -> UInt64 {
    var bytes = [UInt8]("seed:\(seed)".utf8)
    for p in path {
      bytes.append(0x1F)
      bytes.append(contentsOf: p.utf8)
    }
    let digest = SHA256.hash(bytes)
    var v: UInt64 = 0
    for i in 0..<8 { v = (v << 8) | UInt64(digest[i]) }
    return v
  }
}
