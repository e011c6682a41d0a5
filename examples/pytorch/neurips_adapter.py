#!/usr/bin/env python3
"""Runs a NeurIPS 2023 Unlearning Challenge submission unchanged, as an `unlearn` external algorithm.

    algorithms:
      my-submission:
        kind: external
        command: [python3, examples/pytorch/neurips_adapter.py, path/to/submission.py]

The submission file defines `unlearning(net, retain_loader, forget_loader, val_loader)`, which
changes `net` in place, as in the challenge's starting kit. The adapter builds the network of
examples/pytorch/backend.py from the checkpoint it is given, makes the three loaders (batch size:
the recipe's), calls the function and writes the checkpoint and logits back. Globals the kit
provided (DEVICE) are set on the submission's module before the call.
"""
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backend  # noqa: E402


def main(argv):
    submission, work = argv[1], backend.Work(argv[-1])
    spec = importlib.util.spec_from_file_location("submission", submission)
    module = importlib.util.module_from_spec(spec)
    module.DEVICE = work.device
    spec.loader.exec_module(module)
    net = work.load()
    retain = work.loader(work.ids("retain"))
    forget = work.loader(work.ids("forget"))
    validation = work.loader(work.ids("validation"), shuffle=False)
    print(f"unlearning({os.path.basename(submission)}) on {work.device}", flush=True)
    module.unlearning(net, retain, forget, validation)
    work.finish(net)


if __name__ == "__main__":
    main(sys.argv)
