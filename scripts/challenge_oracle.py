#!/usr/bin/env python3
"""A brute-force oracle for the NeurIPS 2023 Unlearning Challenge epsilon (the organisers'
google-deepmind/unlearning_evaluation metric.py), written independently of the Swift implementation
and used to generate Tests/Fixtures/challenge/.

It materialises every decision rule (about 160 000 window rules plus the
single-threshold grid) as NumPy arrays, with the scorer's conventions: float64
scores and window grids (numpy.linspace), the single-threshold grid in float32
as PyTorch's CUDA linspace kernel builds it, float32 rates count/N, and float32
per-rule epsilons with the float32 1 - delta. Logarithms are correctly rounded
float32 (float64 log rounded to float32); see --numpy-log.

Usage:
  scripts/challenge_oracle.py make-fixtures OUT_DIR       # writes case_*.npy and expected.json
  scripts/challenge_oracle.py score U.npy R.npy           # prints epsilons and F as JSON

Needs numpy only.
"""
import json
import math
import os
import sys

import numpy as np

DELTA = 1e-5
CAP = 50.0
PER_UNIT = 100
BUFFER = 2.0
NUMPY_LOG = "--numpy-log" in sys.argv


def log32(x):
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(all="ignore"):
        if NUMPY_LOG:
            return np.log(x)
        return np.log(x.astype(np.float64)).astype(np.float32)


def cuda_linspace_f32(start, end, n):
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    s, e = np.float32(start), np.float32(end)
    if n == 1:
        return np.array([s], dtype=np.float32)
    step = np.float32((e - s) / np.float32(n - 1))
    i = np.arange(n)
    half = n // 2
    out = np.empty(n, dtype=np.float32)
    out[:half] = s + step * i[:half].astype(np.float32)
    out[half:] = e - step * (n - 1 - i[half:]).astype(np.float32)
    return out


def rule_eps(tp, fp, n):
    """Per-rule epsilon from counts; NaN marks a discarded rule."""
    nf = np.float32(n)
    tpr = tp.astype(np.float32) / nf
    fnr = (n - tp).astype(np.float32) / nf
    fpr = fp.astype(np.float32) / nf
    tnr = (n - fp).astype(np.float32) / nf
    one = np.float32(1 - DELTA)
    with np.errstate(all="ignore"):
        e1 = log32(one - fpr) - log32(fnr)
        e2 = log32(one - fnr) - log32(fpr)
        both = np.where(np.isnan(e1), e2, np.where(np.isnan(e2), e1, np.maximum(e1, e2)))
    eps = np.maximum(both, np.float32(0))  # NaN stays NaN
    eps = np.where(fpr * fnr == 0, np.float32(np.nan), eps)
    perfect = (fpr + fnr == 0) & (tpr + tnr == 2)
    return np.where(perfect, np.float32(np.inf), eps).astype(np.float32)


def epsilon(u, r):
    n = len(u)
    if np.median(r) > np.median(u):
        hi, lo = r, u
    else:
        hi, lo = u, r
    a = hi.max() - hi.min()
    b = lo.max() - lo.min()
    largest = a if a > b else b
    smallest = b if a > b else a
    with np.errstate(all="ignore"):
        if smallest / largest < 0.01:
            return CAP, False
    # Window rules.
    width = smallest
    p, q = (lo, hi) if a >= b else (hi, lo)
    lo_r = p.min() + width - BUFFER
    hi_r = p.max() + BUFFER
    rights = np.linspace(lo_r, hi_r, num=int(np.ceil((hi_r - lo_r) * PER_UNIT)))
    all_eps = []
    for rt in rights:
        lefts = np.linspace(rt - width - BUFFER, rt - width + BUFFER, num=400)
        tp = ((lefts[:, None] <= p[None, :]) & (p[None, :] <= rt)).sum(1)
        fp = ((lefts[:, None] <= q[None, :]) & (q[None, :] <= rt)).sum(1)
        all_eps.append(rule_eps(tp, fp, n))
    # Single-threshold rules.
    m, mx = min(hi.min(), lo.min()), max(hi.max(), lo.max())
    grid = cuda_linspace_f32(m, mx, int(math.ceil((mx - m) * PER_UNIT))).astype(np.float64)
    if len(grid):
        tp = (hi[None, :] >= grid[:, None]).sum(1)
        fp = (lo[None, :] >= grid[:, None]).sum(1)
        all_eps.append(rule_eps(tp, fp, n))
    e = np.concatenate(all_eps)
    e = e[~np.isnan(e)]
    if len(e) == 0:
        return 0.0, True
    return float(min(max(float(e.max()), 0.0), CAP)), False


def forgetting_quality(eps, n):
    top = math.ceil(math.log(n - 1))
    bins = []
    k, pts = 0, 1.0
    while 0.5 * k + 0.5 <= top:
        bins.append((0.5 * k + 0.5, pts))
        k += 1
        pts /= 2
    points = []
    for e in eps:
        got = 0.0
        for upper, pt in bins:
            if e < upper:
                got = pt
                break
        points.append(got)
    total = 0.0
    for x in points:
        total += x
    return points, total / len(eps)


def score(U, R):
    U = np.asarray(U, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    n = U.shape[0]
    res = [epsilon(U[:, s], R[:, s]) for s in range(U.shape[1])]
    eps = [x[0] for x in res]
    points, f = forgetting_quality(eps, n)
    return {"num_models": n, "epsilons": eps, "points": points, "forgetting_quality": f,
            "degenerate_examples": [i for i, x in enumerate(res) if x[1]]}


def make_cases(rng):
    cases = {}
    # Same distribution, N = 512 (the competition's N), 12 examples.
    cases["same512"] = (rng.normal(0, 1, (512, 12)), rng.normal(0, 1, (512, 12)))
    # Shifted by 0.5 SD and by 3 SD, N = 64.
    cases["shift64"] = (rng.normal(0.5, 1, (64, 16)), rng.normal(0, 1, (64, 16)))
    cases["far64"] = (rng.normal(3, 1, (64, 8)), rng.normal(0, 1, (64, 8)))
    # N = 100 (not a power of two) and N = 3; different widths (window family matters).
    cases["narrow100"] = (rng.normal(0, 0.3, (100, 16)), rng.normal(0.2, 2.0, (100, 16)))
    cases["tiny3"] = (rng.normal(0, 1, (3, 16)), rng.normal(0, 1, (3, 16)))
    # Heavy tails and wide ranges (long single-threshold grids), N = 128.
    cases["cauchy128"] = (rng.standard_cauchy((128, 6)).clip(-100, 100), rng.normal(0, 5, (128, 6)))
    # Values on a coarse lattice: ties between samples, on grid points and in medians.
    cases["lattice32"] = (rng.integers(-3, 4, (32, 16)) * 0.25, rng.integers(-3, 4, (32, 16)) * 0.25)
    return cases


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make-fixtures":
        out = sys.argv[2]
        os.makedirs(out, exist_ok=True)
        rng = np.random.default_rng(20231128)
        expected = {}
        for name, (U, R) in make_cases(rng).items():
            np.save(os.path.join(out, f"{name}_U.npy"), U.astype(np.float64))
            np.save(os.path.join(out, f"{name}_R.npy"), R.astype(np.float64))
            res = score(U, R)
            expected[name] = res
            print(name, res["forgetting_quality"], file=sys.stderr)
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)
            f.write("\n")
    elif len(sys.argv) >= 4 and sys.argv[1] == "score":
        print(json.dumps(score(np.load(sys.argv[2]), np.load(sys.argv[3]))))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
