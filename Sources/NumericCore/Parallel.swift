import Foundation
import Synchronization

/// Runs independent jobs on a fixed number of worker threads, one job per
/// worker at a time, with OpenBLAS single-threaded inside each job.
///
/// Jobs are handed out in index order from a shared counter; each result is
/// stored at its job's index, so the output never depends on which worker ran
/// which job or in which order they finished.
public enum WorkerPool {
  /// The number of cores available to this process.
  public static var availableCores: Int { ProcessInfo.processInfo.activeProcessorCount }

  /// Calls `body(i)` for every `i` in `0..<count` on `workers` threads and
  /// returns the results in index order.
  ///
  /// A job that throws does not stop the others; after all jobs have run, the
  /// error of the lowest-numbered failed job is rethrown.
  public static func map<T: Sendable>(
    count: Int, workers: Int = WorkerPool.availableCores,
    _ body: @escaping @Sendable (Int) throws -> T
  ) throws -> [T] {
    precondition(workers >= 1, "WorkerPool: at least one worker")
    BLASThreads.setSingleThreaded()
    let slots = Mutex<[Result<T, any Error>?]>(Array(repeating: nil, count: count))
    let next = Mutex(0)
    let threads = Swift.min(workers, Swift.max(count, 1))
    if threads == 1 {
      for i in 0..<count {
        let r = Result { try body(i) }
        slots.withLock { $0[i] = r }
      }
    } else {
      let done = DispatchSemaphore(value: 0)
      for _ in 0..<threads {
        let thread = Thread {
          while true {
            let i = next.withLock { n -> Int in
              defer { n += 1 }
              return n
            }
            if i >= count { break }
            let r = Result { try body(i) }
            slots.withLock { $0[i] = r }
          }
          done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
      }
      for _ in 0..<threads { done.wait() }
    }
    let results = slots.withLock { $0 }
    var out = [T]()
    out.reserveCapacity(count)
    for r in results {
      guard let r else { fatalError("WorkerPool: job did not run") }
      out.append(try r.get())
    }
    return out
  }

  /// Like ``map(count:workers:_:)`` but returns each job's `Result`, so one
  /// failure never hides the others' results.
  public static func mapResults<T: Sendable>(
    count: Int, workers: Int = WorkerPool.availableCores,
    _ body: @escaping @Sendable (Int) throws -> T
  ) -> [Result<T, any Error>] {
    // `map` over `Result` values cannot throw.
    (try? map(count: count, workers: workers) { i in Result { try body(i) } }) ?? []
  }
}

/// Runs `body(i)` for `i` in `0..<count` across `workers` threads (a parallel for loop).
public func parallelFor(
  _ count: Int, workers: Int = WorkerPool.availableCores, _ body: @escaping @Sendable (Int) -> Void
) {
  _ = try? WorkerPool.map(count: count, workers: workers) { body($0) }
}
