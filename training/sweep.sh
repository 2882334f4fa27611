#!/usr/bin/env bash
# Train several block-causal configurations side by side on one GPU and report how
# answer-token accuracy grows with steps; optionally evaluate each and return its folder.
#   SWEEP_MIN   minutes per configuration (default 6)
#   MAX_PHASE   last curriculum phase (default 0: documents of 64-512 tokens only)
#   CONFIGS     newline-separated "name|train.py arguments"
#   EVAL_PLAN   evaluate.py --plan for each trained model (optional), e.g. dense:2k:30,swap:2k:30
#   EVAL_DEADLINE_S  seconds after the start by which evaluation stops (default 540)
#   OUT         result folder
set -u
START=$(date +%s)
SWEEP_MIN=${SWEEP_MIN:-6}
MAX_PHASE=${MAX_PHASE:-0}
OUT=${OUT:-training/out/sweep}
WORKERS=${WORKERS:-2}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
if [ -n "${EVAL_PLAN:-}" ]; then
    python3 training/gen_data.py --tokenizer training/out/tokenizer.json --out training/out/eval \
        --lengths "${EVAL_LENGTHS:-2k}" > "$OUT/gen.log" 2>&1 &
fi
PIDS=""
NAMES=""
while IFS='|' read -r name args; do
    [ -z "$name" ] && continue
    P0=""
    [ "$MAX_PHASE" = 0 ] && P0="--phase0-max 1.1"
    python3 training/train.py --attention block_causal --out "training/out/sweep-$name" \
        --minutes "$SWEEP_MIN" --max-phase "$MAX_PHASE" $P0 --workers "$WORKERS" \
        --log-every 100 $args > "$OUT/$name.log" 2>&1 &
    PIDS="$PIDS $!"
    NAMES="$NAMES $name"
done <<< "$CONFIGS"
for p in $PIDS; do wait $p; done
for f in "$OUT"/*.log; do
    echo "== $f"; grep -E '^params|^step [0-9]+ t=' "$f" | awk 'NR==1 || NR%4==0'; tail -n 1 "$f"
done
if [ -n "${EVAL_PLAN:-}" ]; then
    wait
    DL=$((START + ${EVAL_DEADLINE_S:-540}))
    for n in $NAMES; do
        python3 training/evaluate.py --model "training/out/sweep-$n" --eval-dir training/out/eval \
            --plan "$EVAL_PLAN" --deadline $DL --out "$OUT/results-$n.json" > "$OUT/eval-$n.txt" 2>&1 &
    done
    wait
    for n in $NAMES; do
        echo "== eval $n"; tail -n 6 "$OUT/eval-$n.txt"
        tar cf "$OUT/$n.tar" -C training/out --exclude tokenizer.json "sweep-$n"
    done
fi
# the logs are packed into one archive beside the model archives
(cd "$OUT" && tar cf logs.tar --remove-files $(ls | grep -v '\.tar$'))
echo "total $(( $(date +%s) - START ))s"
