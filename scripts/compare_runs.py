#!/usr/bin/env python3
"""Compares two run folders of `unlearn evaluate`: every hashed output and every score.

    python3 scripts/compare_runs.py BEFORE_RUN AFTER_RUN

Checks that
  - manifest.json lists the same deterministic files with the same SHA-256 (logits, weights,
    labels, splits, identity, hyper-parameters);
  - results.json has the same rows, and in every row the same value of every metric (mean, std,
    interval, per-example values, curve, note), wall-clock columns excepted (those results.json
    marks `wall_clock`: time, speed-up, the timing leak; no two runs agree on those).
Metrics only the second run has are listed as added (new columns), not as differences.
Prints each difference and exits 1 if there is any. Used to check that a refactoring changes no
number (e.g. a run made before a change against one made after it).
"""
import json
import sys
from pathlib import Path



def load(run: Path, name: str):
    with open(run / name, encoding="utf-8") as f:
        return json.load(f)


def rows(results):
    return {(r["algorithm"], r["round"]): r for r in results["rows"]}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    a, b = Path(sys.argv[1]), Path(sys.argv[2])
    problems = []
    ma, mb = load(a, "manifest.json")["files"], load(b, "manifest.json")["files"]
    for f in sorted(set(ma) | set(mb)):
        if f not in mb:
            problems.append(f"file only in {a}: {f}")
        elif f not in ma:
            problems.append(f"file only in {b}: {f}")
        elif ma[f] != mb[f]:
            problems.append(f"file differs: {f}")
    results_a, results_b = load(a, "results.json"), load(b, "results.json")
    timed = {c["name"] for c in results_a["columns"] + results_b["columns"] if c.get("wall_clock")}
    timed |= {"seconds", "speedup", "timing_leak"}  # results written before columns were marked
    ra, rb = rows(results_a), rows(results_b)
    if set(ra) != set(rb):
        problems.append(f"rows differ: {sorted(set(ra) ^ set(rb))}")
    compared = 0
    added = set()
    for key in sorted(set(ra) & set(rb)):
        xa, xb = ra[key]["metrics"], rb[key]["metrics"]
        if ra[key].get("models") != rb[key].get("models"):
            problems.append(f"{key}: models {ra[key].get('models')} vs {rb[key].get('models')}")
        for m in sorted(set(xa) | set(xb)):
            if m in timed:
                continue
            if m not in xa:
                added.add(m)
                continue
            if m not in xb:
                problems.append(f"{key} {m}: missing in {b}")
                continue
            compared += 1
            for field in sorted(set(xa[m]) | set(xb[m])):
                if xa[m].get(field) != xb[m].get(field):
                    problems.append(f"{key} {m}.{field}: {str(xa[m].get(field))[:80]} vs {str(xb[m].get(field))[:80]}")
    for p in problems:
        print(p)
    if added:
        print(f"added columns (only in {b}): {', '.join(sorted(added))}")
    print(f"{len(ma)} hashed files, {compared} metric values compared: "
          + ("identical" if not problems else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
