import Foundation
import TestSupport
import Testing

@testable import NumericCore

@Suite struct SHA256Tests {
  @Test func sha256_matchesFIPSVectors() {
    #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    #expect(
      SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  @Test func sha256_incrementalEqualsOneShot() {
    let bytes = (0..<1000).map { UInt8($0 % 251) }
    var s = SHA256()
    s.update(bytes[0..<3])
    s.update(bytes[3..<700])
    s.update(bytes[700...])
    #expect(s.finalize() == SHA256.hash(bytes))
  }

  /// The x86 SHA instructions (where this CPU has them) against the portable C block function,
  /// on every message length up to 140 bytes and some longer ones, each fed in two random parts.
  @Test func sha256_acceleratedEqualsPortable() {
    print("SHA-256 with the SHA instructions on this CPU: \(SHA256.isAccelerated)")
    var rng = Xoshiro256StarStar(seed: 11)
    let message = (0..<700).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    for length in 0...message.count where length < 140 || length % 37 == 0 {
      let split = rng.nextIndex(below: length + 1)
      var fast = SHA256(), portable = SHA256(portable: true)
      fast.update(message[0..<split])
      fast.update(message[split..<length])
      portable.update(Array(message[0..<length]))
      #expect(fast.finalize() == portable.finalize(), "length \(length), split at \(split)")
    }
  }
}

@Suite struct RandomTests {
  @Test func xoshiro_isDeterministicPerSeed() {
    var a = Xoshiro256StarStar(seed: 42), b = Xoshiro256StarStar(seed: 42), c = Xoshiro256StarStar(seed: 43)
    let x = (0..<8).map { _ in a.next() }
    #expect(x == (0..<8).map { _ in b.next() })
    #expect(x != (0..<8).map { _ in c.next() })
  }

  @Test func splitMix64_matchesReferenceOutput() {
    // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    var g = SplitMix64(seed: 0)
    #expect(g.next() == 0xE220_A839_7B1D_CDAF)
    #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
  }

  @Test func permutation_isAPermutationAndSeedDependent() {
    var r1 = Xoshiro256StarStar(seed: 1), r2 = Xoshiro256StarStar(seed: 2)
    let p = r1.permutation(100)
    #expect(p.sorted() == Array(0..<100))
    #expect(p != r2.permutation(100))
  }

  @Test func nextIndex_staysInRangeAndCoversIt() {
    var r = Xoshiro256StarStar(seed: 9)
    var seen = Set<Int>()
    for _ in 0..<2000 {
      let v = r.nextIndex(below: 7)
      #expect(v >= 0 && v < 7)
      seen.insert(v)
    }
    #expect(seen.count == 7)
  }

  @Test func seeds_deriveDistinctStableStreams() {
    #expect(Seeds.derive(0, "a", "1") == Seeds.derive(0, "a", "1"))
    #expect(Seeds.derive(0, "a", "1") != Seeds.derive(0, "a", "2"))
    #expect(Seeds.derive(0, "a1") != Seeds.derive(0, "a", "1"))
    #expect(Seeds.derive(1, "a", "1") != Seeds.derive(0, "a", "1"))
  }
}

@Suite struct BLASTests {
  func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var s: Float = 0
        for p in 0..<k { s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]) }
        c[i * n + j] = s
      }
    }
    return c
  }

  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func gemm_matchesNaiveProduct(ta: Bool, tb: Bool) {
    let m = 5, n = 7, k = 3
    let a = TestSupport.randomValues(m * k, seed: 1), b = TestSupport.randomValues(k * n, seed: 2)
    let c = FloatBuffer(count: m * n)
    BLAS.gemm(
      transA: ta, transB: tb, m: m, n: n, k: k, a: FloatBuffer(a).view, lda: ta ? m : k, b: FloatBuffer(b).view,
      ldb: tb ? k : n, c: c.view, ldc: n)
    let expected = naive(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
    for i in 0..<(m * n) { #expect(abs(c[i] - expected[i]) < 1e-5) }
  }

  /// β = 0 never reads C (NaN there does not leak) and leaves the columns past n of each row alone.
  @Test func gemm_betaZeroOverwritesOnlyTheProduct() {
    let m = 3, n = 4, k = 2, ldc = 6
    let a = TestSupport.randomValues(m * k, seed: 13), b = TestSupport.randomValues(k * n, seed: 14)
    let c = FloatBuffer([Float](repeating: .nan, count: m * ldc))
    BLAS.gemm(m: m, n: n, k: k, a: FloatBuffer(a).view, lda: k, b: FloatBuffer(b).view, ldb: n, c: c.view, ldc: ldc)
    let expected = naive(a, b, m: m, n: n, k: k, ta: false, tb: false)
    for i in 0..<m {
      for j in 0..<ldc {
        if j < n { #expect(abs(c[i * ldc + j] - expected[i * n + j]) < 1e-5) } else { #expect(c[i * ldc + j].isNaN) }
      }
    }
    // k = 0: C = β·C = 0.
    BLAS.gemm(m: m, n: n, k: 0, a: FloatBuffer(a).view, lda: 1, b: FloatBuffer(b).view, ldb: n, c: c.view, ldc: ldc)
    #expect((0..<m).allSatisfy { i in (0..<n).allSatisfy { c[i * ldc + $0] == 0 } })
  }

  @Test func im2col_andCol2im_areAdjoint() {
    // <im2col(x), c> = <x, col2im(c)> for any x and c.
    let ch = 2, b = 3, h = 5, w = 4, k = 3, pad = 1
    let x = FloatBuffer(TestSupport.randomValues(ch * b * h * w, seed: 3))
    let n = ch * k * k * b * h * w
    let col = FloatBuffer(count: n)
    Kernels.im2col(x.view, channels: ch, batch: b, height: h, width: w, kernel: k, padding: pad, into: col.view)
    let c = FloatBuffer(TestSupport.randomValues(n, seed: 4))
    let back = FloatBuffer(count: x.count)
    Kernels.col2im(c.view, channels: ch, batch: b, height: h, width: w, kernel: k, padding: pad, into: back.view)
    let lhs = (0..<n).reduce(0.0) { $0 + Double(col[$1]) * Double(c[$1]) }
    let rhs = (0..<x.count).reduce(0.0) { $0 + Double(x[$1]) * Double(back[$1]) }
    #expect(abs(lhs - rhs) < 1e-4)
  }

  /// The shifted-plane paths of "same" convolutions give the bits of the row-by-row paths,
  /// including the wrapped columns, rows outside the image, chunks of a batch and −0 inputs.
  @Test(arguments: [(3, 1, 5, 4), (3, 1, 14, 14), (5, 2, 6, 7), (1, 0, 3, 5), (3, 1, 1, 2), (5, 2, 3, 3), (7, 3, 4, 9)])
  func im2colAndCol2im_shiftedPathsMatchTheRowByRowPaths(k: Int, pad: Int, h: Int, w: Int) {
    let ch = 2, batch = 5, first = 1, count = 3
    var values = TestSupport.randomValues(ch * batch * h * w, seed: 11)
    values[0] = -0.0
    let x = FloatBuffer(values)
    let n = ch * k * k * count * h * w
    let fast = FloatBuffer(count: n), slow = FloatBuffer(count: n)
    fast.view.pointer.update(repeating: .nan, count: n)
    slow.view.pointer.update(repeating: .nan, count: n)
    Kernels.im2col(
      x.view, channels: ch, batch: batch, first: first, count: count, height: h, width: w, kernel: k, padding: pad,
      into: fast.view)
    Kernels.im2colByRows(
      x.view, channels: ch, batch: batch, first: first, count: count, height: h, width: w, kernel: k, padding: pad,
      into: slow.view)
    #expect((0..<n).allSatisfy { fast[$0].bitPattern == slow[$0].bitPattern })

    var grads = TestSupport.randomValues(n, seed: 12)
    grads[1] = -0.0
    let g1 = FloatBuffer(grads), g2 = FloatBuffer(grads)
    let dx1 = FloatBuffer([Float](repeating: 7, count: x.count)),
      dx2 = FloatBuffer([Float](repeating: 7, count: x.count))
    Kernels.col2im(
      g1.view, channels: ch, batch: batch, first: first, count: count, height: h, width: w, kernel: k, padding: pad,
      into: dx1.view)
    for c in 0..<ch { (dx2.view.pointer + (c * batch + first) * h * w).update(repeating: 0, count: count * h * w) }
    Kernels.col2imByRows(
      g2.view, channels: ch, batch: batch, first: first, count: count, height: h, width: w, kernel: k, padding: pad,
      into: dx2.view)
    #expect((0..<x.count).allSatisfy { dx1[$0].bitPattern == dx2[$0].bitPattern })
    // Examples outside the chunk are left alone.
    #expect(dx1[0] == 7 && dx1[x.count - 1] == 7)
  }
}

@Suite struct WorkerPoolTests {
  @Test func map_returnsResultsInIndexOrderWhateverTheWorkers() throws {
    let one = try WorkerPool.map(count: 50, workers: 1) { i in i * i }
    let two = try WorkerPool.map(count: 50, workers: 2) { i in i * i }
    let many = try WorkerPool.map(count: 50, workers: 7) { i in i * i }
    #expect(one == (0..<50).map { $0 * $0 })
    #expect(two == one && many == one)
  }

  @Test func map_runsEveryJobAndRethrowsTheFirstFailure() {
    struct Boom: Error, Equatable { let index: Int }
    #expect(throws: Boom(index: 3)) {
      _ = try WorkerPool.map(count: 10, workers: 2) { i -> Int in
        if i == 3 || i == 8 { throw Boom(index: i) }
        return i
      }
    }
    let results = WorkerPool.mapResults(count: 4, workers: 2) { i -> Int in
      if i == 1 { throw Boom(index: i) }
      return i
    }
    #expect(results.count == 4)
    #expect((try? results[2].get()) == 2)
  }
}

@Suite struct FileFormatTests {
  @Test func npy_roundTripsEveryDtype() throws {
    let arrays: [NPYArray] = [
      NPYArray(shape: [2, 3], storage: .float32([1, 2, 3, 4, 5, 6.5])),
      NPYArray(shape: [3], storage: .float64([0.1, -2, 1e300])),
      NPYArray(shape: [2, 2], storage: .int64([1, -2, 3, 1 << 40])),
      NPYArray(shape: [1], storage: .int32([7])),
      NPYArray(shape: [4], storage: .uint8([0, 1, 2, 255])),
    ]
    for a in arrays {
      let data = a.encoded()
      #expect((10 + Int(data[8]) + Int(data[9]) * 256) % 64 == 0, "data starts on a 64-byte boundary")
      #expect(try NPYArray.decode(data) == a)
    }
  }

  @Test func npy_readsNumPyHeaderTextExactly() throws {
    // The header NumPy 2 writes for np.zeros((2, 3), np.float32).
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    header += String(repeating: " ", count: 128 - 10 - header.utf8.count - 1) + "\n"
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0])
    data.append(contentsOf: header.utf8)
    data.append(Data(count: 24))
    let a = try NPYArray.decode(data)
    #expect(a.shape == [2, 3] && a.storage == .float32([0, 0, 0, 0, 0, 0]))
  }

  @Test func npy_rejectsMalformedFiles() {
    #expect(throws: NumericCoreError.self) { try NPYArray.decode(Data("hello".utf8), name: "x.npy") }
    var bad = NPYArray(shape: [3], storage: .float32([1, 2, 3])).encoded()
    bad.removeLast(4)
    #expect(throws: NumericCoreError.self) { try NPYArray.decode(bad, name: "x.npy") }
  }

  @Test func safetensors_roundTripsAndIsDeterministic() throws {
    let entries = [
      Safetensors.Entry(name: "layers.0.weight", tensor: Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])),
      Safetensors.Entry(name: "layers.0.bias", tensor: Tensor(shape: [2], scalars: [-1, 0.5])),
    ]
    let data = Safetensors.encode(entries, metadata: ["format": "pt"])
    #expect(data == Safetensors.encode(entries, metadata: ["format": "pt"]))
    let (back, meta) = try Safetensors.decode(data, name: "m.safetensors")
    #expect(back == entries)
    #expect(meta == ["format": "pt"])
  }

  func header(_ json: String, data: Int) -> Data { TestSupport.safetensors(header: json, dataBytes: data) }

  @Test func safetensors_rejectsMalformedFilesNamingThem() {
    let cases: [(Data, String)] = [
      (Data([1, 2, 3]), "shorter than"),
      (Data(repeating: 0xFF, count: 16), "exceeds"),
      (
        {
          var d = Data()
          var n = UInt64(500).littleEndian
          withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
          d.append(Data("{}".utf8))
          return d
        }(), "past the end"
      ),
      (header("[1, 2]", data: 0), "not a JSON object"),
      (header(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: 8), "outside"),
      (header(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8), "needs 12 bytes"),
      (header(#"{"w":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}"#, data: 8), "unsupported dtype"),
      (header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8), "gap"),
      (header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 8), "trailing"),
    ]
    for (data, needle) in cases {
      do {
        _ = try Safetensors.decode(data, name: "bad.safetensors")
        Issue.record("expected an error containing '\(needle)'")
      } catch {
        #expect("\(error)".contains("bad.safetensors"), "\(error)")
        #expect("\(error)".contains(needle), "\(error)")
      }
    }
  }
}

@Suite struct VectorKernelTests {
  /// Widths: 21 (10 outputs per row: one 8-wide block and 2 scalar ones; odd, so the scatter backward),
  /// 28 (14 outputs: a block and an overlapping block), 32 (two blocks), 14 (7 outputs: two overlapping
  /// 4-wide blocks), 8 (one 4-wide block), 6 (scalar only); heights 6 and 7 (an odd row dropped, and
  /// the scatter backward). Integer values make ties, which the first maximum wins; negative values
  /// and the fused ReLU zero some outputs, whose gradients then go nowhere. Every build (`portable`:
  /// the baseline C) gives the same bits.
  @Test(arguments: [21, 28, 32, 14, 8, 6], [6, 7])
  func maxPool_matchesNaiveReferenceOnVectorAndScalarPaths(width w: Int, height h: Int) {
    let planes = 3, ho = h / 2, wo = w / 2
    var rng = Xoshiro256StarStar(seed: 5)
    let x = FloatBuffer((0..<(planes * h * w)).map { _ in Float(rng.nextIndex(below: 5)) - 2 })
    let dy = FloatBuffer(TestSupport.randomValues(planes * ho * wo, seed: 6))
    for (relu, portable) in [(false, false), (true, false), (false, true), (true, true)] {
      let y = FloatBuffer(count: planes * ho * wo), codes = IndexBuffer(count: planes * ho * wo)
      Kernels.maxPool2Forward(
        x.view, planes: planes, height: h, width: w, into: y.view, argmax: codes, relu: relu, portable: portable)
      let dx = FloatBuffer([Float](repeating: .nan, count: x.count))
      Kernels.maxPool2Backward(
        outputGrad: dy.view, argmax: codes, planes: planes, height: h, width: w, inputGrad: dx.view,
        onlyWhere: relu ? y.view : nil, portable: portable)
      var expectedDx = [Float](repeating: 0, count: x.count)
      for p in 0..<planes {
        for oy in 0..<ho {
          for ox in 0..<wo {
            let base = p * h * w + 2 * oy * w + 2 * ox
            let window = [base, base + 1, base + w, base + w + 1]
            var best = 0
            for j in 1..<4 where x[window[j]] > x[window[best]] { best = j }  // first maximum wins
            let o = (p * ho + oy) * wo + ox
            let pooled = relu ? max(x[window[best]], 0) : x[window[best]]
            #expect(y[o].bitPattern == pooled.bitPattern && Int(codes[o]) == best, "relu \(relu), portable \(portable)")
            if !relu || pooled > 0 { expectedDx[window[best]] = dy[o] }
          }
        }
      }
      // Each output's gradient lands on its winner and nowhere else; a dropped odd row or column gets none.
      #expect((0..<dx.count).allSatisfy { dx[$0].bitPattern == expectedDx[$0].bitPattern }, "relu \(relu)")
    }
  }

  @Test func relu_andSGD_vectorPathsMatchScalarFormulas() {
    let n = 21
    let x = FloatBuffer(TestSupport.randomValues(n, seed: 7)), y = FloatBuffer(count: n)
    Kernels.reluForward(x.view, y.view, count: n)
    let dy = FloatBuffer(TestSupport.randomValues(n, seed: 8)), dx = FloatBuffer(count: n)
    Kernels.reluBackward(output: y.view, outputGrad: dy.view, inputGrad: dx.view, count: n)
    for i in 0..<n {
      #expect(y[i] == max(x[i], 0))
      #expect(dx[i] == (x[i] > 0 ? dy[i] : 0))
    }
    let p = FloatBuffer(TestSupport.randomValues(n, seed: 9)), g = FloatBuffer(TestSupport.randomValues(n, seed: 10))
    let v = FloatBuffer(TestSupport.randomValues(n, seed: 11))
    let (p0, v0) = (p.array, v.array)
    Kernels.sgdStep(
      parameters: p.view, gradients: g.view, velocity: v.view, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
    for i in 0..<n {
      let vi = 0.9 * v0[i] + (g[i] + 0.01 * p0[i])
      #expect(abs(v[i] - vi) < 1e-6 && abs(p[i] - (p0[i] - 0.1 * vi)) < 1e-6)
    }
  }
}

@Suite struct StudentTTests {
  /// scipy.stats.t.ppf(0.975, dof).
  @Test(arguments: [
    (1, 12.706204736174694), (2, 4.302652729749462), (5, 2.5705818356363146), (30, 2.0422724563012378),
    (1000, 1.9623390808264083),
  ])
  func quantile_matchesSciPy(_ dof: Int, _ expected: Double) {
    #expect(abs(Summary.studentT975(dof: dof) - expected) < 1e-9 * expected, "\(dof): \(Summary.studentT975(dof: dof))")
  }
}

@Suite struct FileDigestTests {
  /// A file read whole keeps its digest (the same as hashing the file) while it is unchanged; a
  /// replaced file (a new inode, as atomic writes make) or one rewritten to another size does not.
  @Test func digest_isReusedOnlyWhileTheFileIsTheVersionRead() throws {
    let dir = TestSupport.temporaryDirectory("digests")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("a.npy"), digests = FileDigests()
    try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: url)
    #expect(digests.hex(url) == nil)
    let (data, identity) = try FileInput.readWithIdentity(url)
    digests.record(url, data: data, identity: identity)
    #expect(digests.hex(url) == (try SHA256.hex(fileAt: url)))
    #expect(digests.hex(dir.appendingPathComponent("./a.npy")) == (try SHA256.hex(fileAt: url)))
    try writeAtomically(Data(repeating: 1, count: 5000), to: url)
    #expect(digests.hex(url) == nil)
    let (again, id2) = try FileInput.readWithIdentity(url)
    digests.record(url, data: again, identity: id2)
    let handle = try FileHandle(forWritingTo: url)
    try handle.seekToEnd()
    try handle.write(contentsOf: Data([9]))
    try handle.close()
    #expect(digests.hex(url) == nil)
  }

  @Test func hex_isLowercaseHexadecimal() {
    #expect(SHA256.hex(data: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }
}

@Suite struct RadixSortTests {
  /// The radix order against a stable comparison sort from the largest down: ties (many), ±0,
  /// infinities, subnormals, negative and positive values; NaN gives nil.
  @Test(arguments: [0, 1, 2, 7, 300, 5000])
  func descendingOrder_isTheStableComparisonOrder(count n: Int) {
    var rng = Xoshiro256StarStar(seed: UInt64(n))
    var values = (0..<n).map { k -> Double in
      switch k % 5 {
      case 0: return Double(rng.nextIndex(below: 7)) - 3
      case 1: return rng.nextGaussian() * 1e3
      case 2: return [0.0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude][k % 6]
      default: return rng.nextGaussian()
      }
    }
    if n > 3 { values[n - 1] = values[0] }
    let want = values.indices.sorted { a, b in values[a] != values[b] ? values[a] > values[b] : a < b }
    #expect(RadixSort.descendingOrder(values) == want)
    // Values only: the same values in order (a comparison sort below 256 may place ±0 otherwise).
    #expect(RadixSort.descending(values) == want.map { values[$0] })
    let up = values.indices.sorted { a, b in values[a] != values[b] ? values[a] < values[b] : a < b }
    #expect(RadixSort.ascendingOrder(values) == up)
    #expect(RadixSort.ascending(values) == up.map { values[$0] })
    if n > 0 {
      values[n / 2] = .nan
      #expect(RadixSort.descendingOrder(values) == nil && RadixSort.ascendingOrder(values) == nil)
    }
  }
}
