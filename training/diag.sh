#!/usr/bin/env bash
set -u
mkdir -p $OUT/diag
for v in "s1|--theta 500000 --size 128,4,4,384" "s2|--theta 10000 --size 128,4,4,384" "s3|--theta 10000 --size 128,4,2,384" "s4|--theta 10000 --size 128,2,2,384 --lr 1e-3"; do
  n=${v%%|*}; a=${v#*|}
  python3 training/diag_recall.py $a --seconds 270 --steps 100000 > $OUT/diag/$n.log 2>&1 &
done
export SWEEP_MIN=6.5 OUT=$OUT/sweep WORKERS=2 CONFIGS='p50t4|--answer-space --rope-theta 10000 --size 256,6,4,768 --batch-tokens 8192 --warmup 50 --pretrain-share 0.5 --phase0-docs 64,256
short4|--answer-space --rope-theta 10000 --size 256,6,4,768 --batch-tokens 4096 --warmup 50 --phase0-docs 64,256 --qtypes room,badge,ship,born
p50t5|--answer-space --size 256,6,8,768 --batch-tokens 8192 --warmup 50 --pretrain-share 0.5 --phase0-docs 64,256'
bash training/sweep.sh
wait
for f in $OUT/../diag/*.log; do echo "== $f"; awk 'NR%3==0' $f | tail -12; done
