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
