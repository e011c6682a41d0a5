#!/usr/bin/env python3
"""Prints the README's example table: chosen columns of a run's table.md, cells verbatim.

    python3 scripts/readme_table.py results/digits/table.md

The README's quick-start table is this script's output on `make run`'s table.md, so every
number in it comes from the code as it is.
"""
import sys

COLUMNS = [
    "retain acc %", "forget acc %", "test acc %", "F", "score", "kit MIA", "MIA-Efficacy %",
    "LiRA online AUC", "LiRA online TPR@1%", "RMIA offline AUC", "Avg. Gap", "speed-up",
]


def first_table(lines):
    rows = []
    for line in lines:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[0], rows[2:]


def main(path):
    with open(path, encoding="utf-8") as f:
        header, rows = first_table(f.read().splitlines())
    # Headers carry a direction mark after the name ("F ↑", "kit MIA →0.5").
    names = [h.rsplit(" ", 1)[0] if " " in h else h for h in header]
    keep = [0, 1, 2] + [names.index(c) for c in COLUMNS]
    print("| " + " | ".join(header[k] for k in keep) + " |")
    print("|" + "---|" * len(keep))
    for r in rows:
        print("| " + " | ".join(r[k] for k in keep) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/digits/table.md")
