"""Builds the mode x length table from the JSON summaries that jobs/eval/evaluate.sh writes."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
cells = {}
for path in out.glob("*.json"):
    text = path.read_text().strip()
    if not text:
        continue
    length, mode = path.stem.split("-", 1)
    cells[(length, mode)] = json.loads(text)

lengths = sorted({k[0] for k in cells}, key=lambda s: int(s.rstrip("k")))
modes = [m for m in ["vanilla", "cached", "focus", "stored", "stored-refresh"] if any(k[1] == m for k in cells)]
print(f"Model: {out.name}. Cells: exact match (questions) · seconds per question · speedup over vanilla · attention density.")
print("`*` marks vanilla timed on a few steps and extrapolated (no accuracy).\n")
print("| length | " + " | ".join(modes) + " |")
print("|---|" + "---|" * len(modes))
for length in lengths:
    base = cells.get((length, "vanilla"), {}).get("seconds_per_question")
    row = []
    for mode in modes:
        c = cells.get((length, mode))
        if not c:
            row.append("–")
            continue
        acc = c.get("accuracy")
        acc_text = "*" if acc is None else f"{acc:.2f}"
        speed = f"{base / c['seconds_per_question']:.1f}×" if base and c["seconds_per_question"] > 0 else "–"
        row.append(f"{acc_text} ({c['examples']}) · {c['seconds_per_question']:.2f}s · {speed} · {c['attention_density']:.2f}")
    print(f"| {length} | " + " | ".join(row) + " |")

kinds = sorted({k for c in cells.values() for k in (c.get("by_kind") or {})})
if kinds:
    print("\nExact match by question kind (questions): single-hop facts in a trained phrasing, the "
          "test-only phrasing, two-hop.\n")
    print("| length | mode | " + " | ".join(kinds) + " |")
    print("|---|---|" + "---|" * len(kinds))
    for length in lengths:
        for mode in modes:
            by_kind = (cells.get((length, mode)) or {}).get("by_kind") or {}
            if by_kind:
                row = [f"{by_kind[k]['accuracy']:.2f} ({by_kind[k]['examples']})" if k in by_kind else "–"
                       for k in kinds]
                print(f"| {length} | {mode} | " + " | ".join(row) + " |")
