import Foundation
import Harness
import Networks
import TestSupport
import Testing

/// The safetensors metadata describes a PyTorch module whose `state_dict` keys are the tensor names.
@Suite struct TorchModuleSourceTests {
  /// Python that `exec`s the metadata's class with `nn` bound to a stand-in of `torch.nn` that
  /// names parameters as PyTorch does (a module's attributes, a Sequential's indices), and prints
  /// the instance's state_dict keys; with real torch installed, it also loads the file strictly.
  static let check = #"""
    import json, struct, sys
    data = open(sys.argv[1], "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")

    class Module:
        params = ()
        def __init__(self, *args, **kwargs):
            object.__setattr__(self, "children", {})
        def __setattr__(self, name, value):
            if isinstance(value, Module):
                self.children[name] = value
            object.__setattr__(self, name, value)
        def keys(self, prefix=""):
            out = [prefix + p for p in self.params]
            for name, child in self.children.items():
                out += child.keys(prefix + name + ".")
            return out

    class Sequential(Module):
        def __init__(self, *modules):
            super().__init__()
            for i, m in enumerate(modules):
                setattr(self, str(i), m)

    class Linear(Module):
        params = ("weight", "bias")

    class Conv2d(Module):
        params = ("weight", "bias")

    class Stub:
        pass

    nn = Stub()
    nn.Module, nn.Sequential, nn.Linear, nn.Conv2d = Module, Sequential, Linear, Conv2d
    nn.ReLU = nn.MaxPool2d = nn.Flatten = Module
    scope = {"nn": nn}
    exec(meta["torch_module"], scope)
    keys = scope[meta["torch_class"]]().keys()
    assert keys == list(header), (keys, list(header))
    try:
        import torch
        from safetensors.torch import load_file
    except ImportError:
        print("keys match")
        sys.exit(0)
    scope = {"nn": torch.nn}
    exec(meta["torch_module"], scope)
    scope[meta["torch_class"]]().load_state_dict(load_file(sys.argv[1]), strict=True)
    print("keys match; torch loads it strictly")
    """#

  @Test(arguments: [
    Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [16, 8]),
    Architecture(kind: .cnn, inputShape: [3, 8, 8], numClasses: 4, channels: [4, 8]),
    Architecture(kind: .softmax, inputShape: [1, 8, 8], numClasses: 3),
  ])
  func stateDictKeys_areTheTensorNames(architecture: Architecture) throws {
    let dir = TestSupport.temporaryDirectory("torch-module")
    let net = try Network(architecture: architecture, maxBatch: 1)
    net.initialize(seed: 1)
    try ModelFiles.save(net.weights, to: dir)
    let script = dir.appendingPathComponent("check.py")
    try Data(Self.check.utf8).write(to: script)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script.path, dir.appendingPathComponent("model.safetensors").path]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0 && text.contains("keys match"), "\(text)")
  }
}
