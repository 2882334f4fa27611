#!/usr/bin/env bash
# Train the models concurrently on one GPU, then evaluate them; results go to $OUT.
#   MODE=smoke  ~60 steps each, a few eval examples (checks the pipeline and speed)
#   MODE=full   TRAIN_MIN minutes of training each, then the evaluation plan
#   MODELS="focus-qa-small focus-qa-small-bidir"  which models to train
#   INIT_DIR    folder holding earlier model folders to resume from (optional)
# Needs training/out/tokenizer.json (python training/train_tokenizer.py --out ...).
set -u
MODE=${MODE:-full}
TRAIN_MIN=${TRAIN_MIN:-6.0}
EVAL_DEADLINE_S=${EVAL_DEADLINE_S:-540}
MODELS=${MODELS:-focus-qa-small focus-qa-small-bidir}
OUT=${OUT:-training/out/run}
START=$(date +%s)
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT" training/out/models
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 training/gen_data.py --tokenizer training/out/tokenizer.json --out training/out/eval \
    > "$OUT/gen.log" 2>&1 &
GEN=$!
if [ "$MODE" = smoke ]; then EXTRA="--max-steps 60 --minutes 1.0 --phase-fracs 0.3,0.5,0.7,0.85"; else EXTRA="--minutes $TRAIN_MIN"; fi
NM=$(echo $MODELS | wc -w)
PIDS=""
SEED=1
for m in $MODELS; do
    case $m in *bidir) ATT=bidirectional ;; *) ATT=block_causal ;; esac
    INIT=""
    if [ -n "${INIT_DIR:-}" ] && [ -d "$INIT_DIR/$m" ]; then INIT="--init $INIT_DIR/$m"; fi
    python3 training/train.py --attention $ATT --out training/out/models/$m $EXTRA \
        --seed $SEED --workers $((14 / NM)) $INIT ${TRAIN_ARGS:-} > "$OUT/train-$m.log" 2>&1 &
    PIDS="$PIDS $!"
    SEED=$((SEED + 1))
done
wait $GEN; tail -n 3 "$OUT/gen.log"
for p in $PIDS; do wait $p; done
for m in $MODELS; do
    tail -n 8 "$OUT/train-$m.log"
    cp training/out/models/$m/train-summary.json "$OUT/summary-$m.json"
    tar cf "$OUT/$m.tar" -C training/out/models --exclude tokenizer.json $m
done
cp training/out/eval/digests.json "$OUT/eval-digests.json"
DL=$((START + EVAL_DEADLINE_S))
if [ "$MODE" = smoke ]; then
    EV="--plan ref:2k:2,dense:2k:3,dense:32k:3,swap:2k:3,swap:32k:2"
else
    EV="${EVAL_ARGS:---lengths 2k,8k,32k,4k,16k}"
fi
for m in $MODELS; do
    python3 training/evaluate.py --model training/out/models/$m --eval-dir training/out/eval \
        $EV --deadline $DL --out "$OUT/results-$m.json" > "$OUT/eval-$m.log" 2>&1 &
done
wait
cat "$OUT"/eval-*.log
cat "$OUT"/train-*.log > "$OUT/train-logs.txt"
rm -f "$OUT"/train-focus*.log "$OUT"/eval-*.log "$OUT/gen.log"
ls -la "$OUT"
echo "total $(( $(date +%s) - START ))s"
