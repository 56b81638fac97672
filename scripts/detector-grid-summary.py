#!/usr/bin/env python3
"""Summarises a detector-experiments.sh grid: one markdown table per data set, mean ± sd over seeds, then the accuracy
differences paired by seed (GAN-BERT − supervised; an encoder variant such as minilm-adapters − minilm).

Usage: python3 scripts/detector-grid-summary.py OUT_DIR
Reads OUT_DIR/[<tag>-]<set>-<gan|sup>-<fraction>-s<seed>/ (tag: the backbone and options, e.g. minilm, minilm-adapters){eval.json,eval-ood.json,training-state.json,train-seconds}.
"""
import json, os, re, statistics, sys
from collections import defaultdict

def with_patience(history, patience):
    """The epoch the trainer's rule would choose with this patience, and the epoch it would stop after."""
    best, best_score, since = 0, float("-inf"), 0
    for h in history:
        if h["ValidationMacroF1"] > best_score:
            best, best_score, since = h["Epoch"], h["ValidationMacroF1"], 0
        else:
            since += 1
        if since >= patience:
            return best, h["Epoch"]
    return best, history[-1]["Epoch"]

def ms(values, digits=3):
    values = [v for v in values if v is not None]
    if not values: return ""
    if len(values) == 1: return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/detector-experiments"
name = re.compile(r"^(?:(?P<tag>[a-z0-9-]+)-)?(?P<set>argugpt|m4)-(?P<mode>gan|sup)-(?P<frac>[0-9.]+)-s(?P<seed>\d+)$")
cells = defaultdict(list)
for entry in sorted(os.listdir(out)):
    m = name.match(entry)
    run = os.path.join(out, entry)
    if not m or not os.path.exists(os.path.join(run, "eval.json")):
        continue
    ev = json.load(open(os.path.join(run, "eval.json")))
    state = json.load(open(os.path.join(run, "training-state.json")))
    r = {
        "seed": int(m["seed"]), "acc": ev["accuracy"], "f1": ev["macro_f1"], "mcc": ev["mcc"],
        "majority": max(c["support"] for c in ev["per_class"]) / ev["scored"],
        "best": state["best_epoch"], "done": state["epochs_done"],
        "labelled": sum(state["kept_labels"]), "validation": state.get("validation_rows", 0),
        # what the test set would have chosen, in hindsight (never used for selection)
        "p2": with_patience(state["history"], 2),
        "oracle": max(h["TestAccuracy"] for h in state["history"] if h.get("TestAccuracy") is not None),
        "seconds": int(open(os.path.join(run, "train-seconds")).read()) if os.path.exists(os.path.join(run, "train-seconds")) else None,
    }
    ood_path = os.path.join(run, "eval-ood.json")
    if os.path.exists(ood_path):
        ood = json.load(open(ood_path))
        r["ood"] = next((c["recall"] for c in ood["per_class"] if c["class"] == "gpt-3.5-turbo"), None)
    chosen = state["history"][r["best"] - 1]
    if abs(chosen["TestAccuracy"] - r["acc"]) > 1e-9:
        print(f"warning: {entry}: eval.json accuracy {r['acc']} differs from the history's {chosen['TestAccuracy']} at epoch {r['best']}", file=sys.stderr)
    r["p2acc"] = state["history"][r["p2"][0] - 1]["TestAccuracy"]
    r["health"] = [(h["Epoch"], h["Health"]) for h in state["history"] if h.get("Health")]
    r["name"] = entry
    cells[(m["set"], float(m["frac"]), m["mode"], m["tag"] or "small")].append(r)

for data_set in sorted({k[0] for k in cells}):
    ood = data_set == "argugpt"
    print(f"\n#### {data_set}\n")
    head = ["encoder", "labels", "method", "seeds", "labelled / validation rows", "accuracy", "macro-F1", "MCC",
            "chosen epoch / epochs run", "patience 2: accuracy (chosen/stopped)", "best test acc. in hindsight"]
    if ood: head.append("OOD gpt-3.5-turbo recall")
    head += ["majority class", "train minutes"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for (s, frac, mode, tag), runs in sorted(cells.items(), key=lambda kv: (kv[0][3], kv[0][1], kv[0][2])):
        if s != data_set: continue
        runs.sort(key=lambda r: r["seed"])
        row = [tag, f"{frac * 100:g}%",
               "GAN-BERT" if mode == "gan" else "supervised",
               ",".join(str(r["seed"]) for r in runs),
               " ".join(f"{r['labelled']}/{r['validation']}" for r in runs),
               ms([r["acc"] for r in runs]), ms([r["f1"] for r in runs]), ms([r["mcc"] for r in runs]),
               " ".join(f"{r['best']}/{r['done']}" for r in runs),
               ms([r["p2acc"] for r in runs]) + " (" + " ".join(f"{r['p2'][0]}/{r['p2'][1]}" for r in runs) + ")",
               ms([r["oracle"] for r in runs])]
        if ood: row.append(ms([r.get("ood") for r in runs], 2))
        row += [ms([r["majority"] for r in runs]), ms([r["seconds"] / 60 if r["seconds"] else None for r in runs], 1)]
        print("| " + " | ".join(row) + " |")

# The GAN's health per epoch (runs trained since the trainer records it): what the discriminator says of real and
# generated features, and the generator's spread (its outputs' std over the real features' std; 0 = collapsed).
healthy = [r for runs in cells.values() for r in runs if r["health"]]
if healthy:
    print("\n#### GAN health per epoch (mean over the epoch's steps)\n")
    print("| run | epoch | p_fake(real) | p_fake(generated) | generator spread |")
    print("| --- | --- | --- | --- | --- |")
    for r in sorted(healthy, key=lambda r: r["name"]):
        # Long runs: the first epoch, the chosen one and the last.
        shown = r["health"] if len(r["health"]) <= 6 else [(e, h) for e, h in r["health"] if e in (1, r["best"], r["health"][-1][0])]
        for epoch, h in shown:
            spread = "n/a" if h.get("Spread") is None else f"{h['Spread']:.2f}"  # none for an epoch of one-text batches
            print(f"| {r['name']} | {epoch} | {h['RealJudgedFake']:.3f} | {h['FakeJudgedFake']:.3f} | {spread} |")

# The seed fixes the split, and the split moves accuracy more than the method does, so the fair comparisons are per
# seed: GAN-BERT minus supervised-only on the same split, and an encoder variant (e.g. minilm-adapters) minus the
# plain fine-tuned one it is named after (minilm), on the seeds both ran.
def paired(a, b):
    by_seed = {r["seed"]: r["acc"] for r in b}
    return [(r["seed"], r["acc"] - by_seed[r["seed"]]) for r in sorted(a, key=lambda r: r["seed"]) if r["seed"] in by_seed]

def paired_row(label, diffs):
    values = [d for _, d in diffs]
    per_seed = ", ".join(f"s{s} {d:+.3f}" for s, d in diffs)
    return f"| {label} | {'+' if statistics.mean(values) >= 0 else ''}{ms(values)} | {per_seed} |"

rows = []
for (s, frac, mode, tag), runs in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][3], kv[0][1])):
    if mode != "gan" or (s, frac, "sup", tag) not in cells: continue
    diffs = paired(runs, cells[(s, frac, "sup", tag)])
    if diffs: rows.append(paired_row(f"{s} {tag} {frac * 100:g}%: GAN-BERT − supervised", diffs))
for (s, frac, mode, tag), runs in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][3], kv[0][1], kv[0][2])):
    base = tag.split("-")[0]
    if base == tag or (s, frac, mode, base) not in cells: continue
    diffs = paired(runs, cells[(s, frac, mode, base)])
    if diffs: rows.append(paired_row(f"{s} {frac * 100:g}% {'GAN-BERT' if mode == 'gan' else 'supervised'}: {tag} − {base}", diffs))
if rows:
    print("\n#### Accuracy differences paired by seed (mean ± sd over the seeds both ran)\n")
    print("| comparison | difference | per seed |")
    print("| --- | --- | --- |")
    print("\n".join(rows))
