"""Compares the Swift engine's dense (vanilla) answers with the reference answers on the same test
questions (`reference_decode.py`: float64 numpy, independent of PyTorch and of the engine).

    .build/release/focus eval --model models/focus-qa-small --set jobs/eval/test-2k.jsonl \
        --mode vanilla --limit 50 --exact-document-reuse > swift-2k.txt
    python3 training/check_parity.py swift-2k.txt training/reference-answers/focus-qa-small-test-2k.jsonl

Prints the number of questions whose answers are identical and lists the others; exits 1 when
any differs. (`--exact-document-reuse` computes the block-causal model's document KV once,
which is the same computation as the full forward every step; it only makes the run faster.)
"""
import json
import sys

swift_lines, reference_path = sys.argv[1], sys.argv[2]
swift = {}
for line in open(swift_lines):
    parts = line.rstrip("\n").split("\t")
    if len(parts) >= 3 and not line.startswith("{"):
        swift[parts[0]] = parts[2]
reference = [json.loads(line) for line in open(reference_path)]
same, different = 0, []
for item in reference:
    if item["id"] not in swift:
        continue
    if swift[item["id"]] == item["answer"].strip():
        same += 1
    else:
        different.append((item["id"], swift[item["id"]], item["answer"]))
compared = same + len(different)
print(f"{same}/{compared} answers identical to the reference")
for identifier, ours, theirs in different:
    print(f"  {identifier}: swift {ours!r}  reference {theirs!r}")
sys.exit(0 if compared and not different else 1)
