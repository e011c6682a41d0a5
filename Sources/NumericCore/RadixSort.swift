/// Sorting doubles by their bits: a least-significant-digit radix sort, eight bits per pass
/// (passes where every key has the same digit are skipped), stable, in linear time. The bootstrap
/// walks and ROC curves sort tens of thousands of scores; a comparison sort spent most of their
/// setup there.
public enum RadixSort {
  /// The indices of `values` from the largest value down, ties in index order (−0 and +0 tie, as
  /// under `>`); nil when a value is NaN (which has no place in that order).
  public static func descendingOrder(_ values: [Double]) -> [Int]? { order(values, descending: true) }

  /// The indices of `values` from the smallest value up, ties in index order; nil for NaN.
  public static func ascendingOrder(_ values: [Double]) -> [Int]? { order(values, descending: false) }

  static func order(_ values: [Double], descending: Bool) -> [Int]? {
    let n = values.count
    var keys = [UInt64](repeating: 0, count: n)
    let flip: UInt64 = descending ? ~0 : 0
    for i in 0..<n {
      let v = values[i]
      if v.isNaN { return nil }
      // Ascending order as unsigned integers: negatives' bits flipped, positives' sign bit set;
      // then flipped again for descending. ±0 share a key.
      let bits = v == 0 ? 0 : v.bitPattern
      keys[i] = flip ^ (bits >> 63 != 0 ? ~bits : bits | (1 << 63))
    }
    var order = [Int](0..<n), otherKeys = keys, otherOrder = order
    var counts = [Int](repeating: 0, count: 256)
    for shift in stride(from: UInt64(0), to: 64, by: 8) {
      for d in 0..<256 { counts[d] = 0 }
      for k in keys { counts[Int(truncatingIfNeeded: k >> shift) & 255] += 1 }
      if counts.contains(n) { continue }  // one digit for every key: this pass changes nothing
      var start = 0
      for d in 0..<256 {
        let c = counts[d]
        counts[d] = start
        start += c
      }
      keys.withUnsafeBufferPointer { k in
        order.withUnsafeBufferPointer { o in
          otherKeys.withUnsafeMutableBufferPointer { k2 in
            otherOrder.withUnsafeMutableBufferPointer { o2 in
              counts.withUnsafeMutableBufferPointer { c in
                for i in 0..<n {
                  let d = Int(truncatingIfNeeded: k[i] >> shift) & 255
                  let at = c[d]
                  k2[at] = k[i]
                  o2[at] = o[i]
                  c[d] = at + 1
                }
              }
            }
          }
        }
      }
      swap(&keys, &otherKeys)
      swap(&order, &otherOrder)
    }
    return order
  }

  /// Below this many values a comparison sort is faster than eight passes over 256 buckets.
  static let smallest = 256

  /// `values` from the largest down; the comparison sort when there are few or a value is NaN.
  public static func descending(_ values: [Double]) -> [Double] {
    guard values.count >= smallest, let order = descendingOrder(values) else { return values.sorted(by: >) }
    return order.map { values[$0] }
  }

  /// `values` from the smallest up; the comparison sort when there are few or a value is NaN.
  public static func ascending(_ values: [Double]) -> [Double] {
    guard values.count >= smallest, let order = ascendingOrder(values) else { return values.sorted() }
    return order.map { values[$0] }
  }
}
