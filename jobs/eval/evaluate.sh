#!/usr/bin/env bash
# Quality and speed of every decoding mode on the test sets, one `focus eval` run per cell.
#
#   bash jobs/eval/evaluate.sh            # or: make eval
#
# Environment (defaults in brackets):
#   MODEL      model directory                        [models/focus-qa-small]
#   SPLIT      evaluation split                        [test]
#   LENGTHS    context lengths                         [2k 4k 8k 16k 32k]
#   MODES      decoding modes                          [vanilla cached focus stored stored-refresh]
#   LIMIT      questions per cell (CPU time!)          [20]
#   VANILLA_FULL_UPTO  lengths up to which vanilla runs whole; above it, a few steps are timed and
#              extrapolated and the cell is marked     [4k]
#   EXTRA      extra flags for every `focus eval`      []
# Writes one JSON summary per cell to $OUT (jobs/eval/results/<model>/) and RESULTS.md beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
FOCUS=${FOCUS:-.build/release/focus}
MODEL=${MODEL:-models/focus-qa-small}
SPLIT=${SPLIT:-test}
LENGTHS=${LENGTHS:-"2k 4k 8k 16k 32k"}
MODES=${MODES:-"vanilla cached focus stored stored-refresh"}
LIMIT=${LIMIT:-20}
VANILLA_FULL_UPTO=${VANILLA_FULL_UPTO:-4k}
OUT=${OUT:-jobs/eval/results/$(basename "$MODEL")}
STORE=${STORE:-.focus/eval-store}
[ -x "$FOCUS" ] || { echo "missing $FOCUS: run make build first" >&2; exit 1; }
mkdir -p "$OUT"

number() { echo "${1%k}"; }
for length in $LENGTHS; do
    set_file=jobs/eval/$SPLIT-$length.jsonl
    [ -f "$set_file" ] || { echo "skip $length: no $set_file" >&2; continue; }
    for mode in $MODES; do
        flags=(--model "$MODEL" --set "$set_file" --mode "$mode" --limit "$LIMIT" --store "$STORE")
        if [ "$mode" = vanilla ] && [ "$(number "$length")" -gt "$(number "$VANILLA_FULL_UPTO")" ]; then
            flags+=(--extrapolate-steps 1 --limit 2)
        fi
        echo "== $length $mode" >&2
        "$FOCUS" eval "${flags[@]}" ${EXTRA:-} | tee "$OUT/$length-$mode.log" | tail -n 1 > "$OUT/$length-$mode.json"
    done
done
python3 jobs/eval/table.py "$OUT" > "$OUT/RESULTS.md"
cat "$OUT/RESULTS.md"
