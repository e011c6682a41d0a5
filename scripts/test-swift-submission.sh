#!/usr/bin/env bash
# Builds examples/swift-submission (a separate package depending on the harness by path),
# runs its executable on the embedded digits with its own algorithm registered, and checks
# that the algorithm's row is in the table and that the run replays byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
OUT=$(mktemp -d /tmp/swift-submission.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

echo "== building examples/swift-submission"
$SWIFT build -c release --package-path examples/swift-submission 2>&1 | tail -n 3
BIN=examples/swift-submission/.build/release/my-unlearn

echo "== my-unlearn evaluate --algorithms shrink-perturb,finetune"
$BIN evaluate --algorithms shrink-perturb,finetune --models 3 --out "$OUT/run" --quiet > "$OUT/table.md"
cat "$OUT/table.md" | grep -E '^\| (algorithm|retrain|shrink-perturb|finetune) ' | cut -c1-120
grep -q '^| shrink-perturb | approximate | 3 |' "$OUT/table.md" || { echo "FAIL: no shrink-perturb row with 3 models"; exit 1; }
grep -q '"shrink"' "$OUT/run/jobs/shrink-perturb/parameters.json" || { echo "FAIL: hyper-parameters not recorded"; exit 1; }

echo "== my-unlearn rerun --verify"
$BIN rerun "$OUT/run" --verify --quiet | tail -n 1
echo "== a misspelt hyper-parameter is refused with its key"
printf 'evaluation: {models: 2, algorithms: [shrink-perturb]}\nalgorithms:\n  shrink-perturb: {shrnk: 0.3}\n' > "$OUT/bad.yaml"
if $BIN evaluate --config "$OUT/bad.yaml" --out "$OUT/bad" --quiet 2> "$OUT/err.txt"; then echo "FAIL: accepted a misspelt key"; exit 1; fi
grep -q 'algorithms.shrink-perturb.shrnk' "$OUT/err.txt" || { cat "$OUT/err.txt"; echo "FAIL: the error does not name the key"; exit 1; }
echo "swift submission: OK"
