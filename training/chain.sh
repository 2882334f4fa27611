#!/usr/bin/env bash
# One link of the chained training run on one GPU: resume, train, export, evaluate.
#   LINKS    space-separated name:attention:init, e.g.
#            "focus-qa-small:block_causal:models/focus-qa-small" (init "-" = from scratch).
#            A folder training/out/models/<name> left by an earlier link on the same machine
#            (with its f32 checkpoint) is preferred to init.
#   MINUTES  training minutes per model (the models train concurrently)
#   TRAIN_ARGS  extra train.py arguments
#   EVAL_PLAN   evaluate.py --plan, run after training (e.g. dense:2k:100,swap:2k:100)
#   EVAL_DEADLINE_S  seconds after the start by which evaluation stops
#   OUT      result folder: logs, results, and <name>.tar.part-aa, -ab, ... (the model folder as
#            a tar in parts of at most 15 MiB: `cat <name>.tar.part-* | tar x`)
set -u
START=$(date +%s)
OUT=${OUT:-training/out/link}
MINUTES=${MINUTES:-7}
EVAL_PLAN=${EVAL_PLAN:-dense:2k:200,swap:2k:200,dense:8k:200,dense:32k:80}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT" training/out/models
cp models/focus-qa-small/tokenizer.json training/out/tokenizer.json
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
NM=$(echo $LINKS | wc -w)
PIDS=""
SEED=1
for link in $LINKS; do
    IFS=: read -r name attention init <<< "$link"
    here=training/out/models/$name
    if [ -f "$here/train-state.json" ]; then init=$here; fi
    INIT=""
    [ "$init" != "-" ] && INIT="--init $init"
    python3 training/train.py --attention "$attention" --out "$here" --minutes "$MINUTES" \
        --seed $SEED --workers $((14 / NM)) --ckpt "training/out/ckpt-$name" $INIT \
        ${TRAIN_ARGS:-} > "$OUT/train-$name.log" 2>&1 &
    PIDS="$PIDS $!"
    SEED=$((SEED + 1))
done
for p in $PIDS; do wait $p; done
DL=$((START + ${EVAL_DEADLINE_S:-570}))
for link in $LINKS; do
    IFS=: read -r name attention init <<< "$link"
    grep -v '^step [0-9]* t=' "$OUT/train-$name.log" | tail -n 12
    grep '^step [0-9]* t=' "$OUT/train-$name.log" | awk 'NR % 10 == 0' | tail -n 8
    python3 training/evaluate.py --model "training/out/models/$name" --eval-dir jobs/eval \
        --plan "$EVAL_PLAN" --deadline $DL --out "$OUT/results-$name.json" \
        > "$OUT/eval-$name.log" 2>&1 &
done
wait
for link in $LINKS; do
    IFS=: read -r name attention init <<< "$link"
    cat "$OUT/eval-$name.log"
    tar cf "$OUT/$name.tar" -C training/out/models --exclude tokenizer.json "$name"
    split -b 15M "$OUT/$name.tar" "$OUT/$name.tar.part-" && rm "$OUT/$name.tar"
done
(cd "$OUT" && tar cf logs.tar --remove-files *.log)
ls -la "$OUT"
echo "total $(( $(date +%s) - START ))s"
