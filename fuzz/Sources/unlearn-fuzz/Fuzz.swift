import CFuzzDriver
import Foundation
import Harness
import NumericCore

/// The reader under test, from `UNLEARN_FUZZ_TARGET`.
let target = ProcessInfo.processInfo.environment["UNLEARN_FUZZ_TARGET"] ?? ""

/// One input: every reader must return a value or throw; a trap, a sanitizer report, a hang or
/// an allocation out of proportion to the input is a finding.
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
  let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
  switch target {
  case "png": _ = try? PNGImage.decode(data, name: "input.png")
  case "npy": _ = try? NPYArray.decode(data, name: "input.npy")
  case "npz": _ = try? NPZArchive.decode(data, name: "input.npz")
  case "safetensors": _ = try? Safetensors.decode(data, name: "input.safetensors")
  case "yaml": _ = try? ExperimentSpec.load(yaml: String(decoding: data, as: UTF8.self), file: "input.yaml")
  case "csv":
    _ = try? Dataset.parseManifest(
      String(decoding: data, as: UTF8.self), file: URL(fileURLWithPath: "/fuzz/labels.csv"))
  default:
    FileHandle.standardError.write(Data("set UNLEARN_FUZZ_TARGET to png, npy, npz, safetensors, yaml or csv\n".utf8))
    exit(2)
  }
  return 0
}

@main enum FuzzMain {
  static func main() {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzz($0, $1) })
  }
}
