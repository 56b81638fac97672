#!/usr/bin/env bash
# "Real or fake" (issue #3) and three adversarial rounds (issue #6) on the disaster tweets, as measured in the README.
# Usage: scripts/tweet-experiments.sh OUT_DIR
#   [GENERATOR=DIR]     a trained generator (default: train scratch:tiny on 4,000 tweets, 3 epochs, into OUT/generator)
#   [SEEDS="1 2 3"] [FRACTIONS="0.01 0.05 0.1 1.0"] [ROUNDS=3] [GANBERTBOTS_DLL=...]
# Needs ../shared/data and a built host (dotnet build -c Release src/GanBertBots.Host). Uses OUT/work as the service's
# data and registry folders (SQLite store, models/registry); nothing outside OUT is touched.
set -euo pipefail
out=$(mkdir -p "${1:?OUT_DIR}" && cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd); data=$repo/../shared/data
cli="dotnet ${GANBERTBOTS_DLL:-$repo/src/GanBertBots.Host/bin/Release/net10.0/ganbertbots.dll}"
vocab=$data/bert-base-uncased/vocab.txt; tweets=$data/disaster-tweets

# 1. The generator: a small GPT-2 trained from scratch on the tweets.
gen=${GENERATOR:-$out/generator}
if [ ! -f "$gen/model.safetensors" ]; then
  $cli train-generator --data "$tweets/train.csv" --from scratch:tiny --tokenizer "$data/gpt2-tokenizer" --out "$gen" \
    --epochs 3 --max-examples 4000 --block-size 48 --batch-size 32 --lr 3e-3 --held-out 0.05
fi

# 2. Fake tweets (50 per keyword for the 12 commonest keywords) against as many human tweets from test.csv.
mkdir -p "$out/data"
python3 - "$tweets/train.csv" > "$out/data/keywords.txt" <<'PY'
import collections, csv, sys
c = collections.Counter(r["keyword"].replace("%20", " ") for r in csv.DictReader(open(sys.argv[1])) if r["keyword"])
print("\n".join(k for k, _ in c.most_common(12)))
PY
: > "$out/data/fake.jsonl"; i=0
while read -r kw; do i=$((i + 1)); $cli generate --model "$gen" --prompt "$kw" --tweet --num-return 50 --seed $((1000 + i)) --json >> "$out/data/fake.jsonl"; done < "$out/data/keywords.txt"
python3 - "$out/data" "$tweets/test.csv" <<'PY'
import csv, json, random, sys
out, test = sys.argv[1], sys.argv[2]
fake = list(dict.fromkeys(c["text"] for line in open(f"{out}/fake.jsonl") if line.strip() for c in json.loads(line)["completions"] if c["text"].strip()))
human = [r["text"] for r in csv.DictReader(open(test))]
random.seed(1); random.shuffle(human); human = human[:len(fake)]
with open(f"{out}/realfake.csv", "w", newline="") as fh:
    w = csv.writer(fh); w.writerow(["id", "text", "label"])
    for i, t in enumerate(human): w.writerow([f"h{i}", t, "human"])
    for i, t in enumerate(fake): w.writerow([f"g{i}", t, "gpt2"])
print(f"{len(human)} human and {len(fake)} generated tweets -> {out}/realfake.csv")
PY

# 3. Real or fake: GAN-BERT against supervised-only, label fractions x seeds (30% test, 15% validation, by row).
for seed in ${SEEDS:-1 2 3}; do for frac in ${FRACTIONS:-0.01 0.05 0.1 1.0}; do for mode in gan sup; do
  run=$out/realfake/$mode-$frac-s$seed; [ -f "$run/eval.json" ] && continue; rm -rf "$run"; mkdir -p "$out/realfake"
  extra=(); [ $mode = sup ] && extra=(--supervised-only)
  $cli train-detector --data "$out/data/realfake.csv" --text-field text --label-field label --classes human,gpt2 \
    --backbone small --vocab "$vocab" --labeled-fraction $frac --epochs 4 --max-length 64 --lr 1e-3 --seed $seed \
    --group-field id --test-fraction 0.3 --validation-fraction 0.15 --force --out "$run" "${extra[@]}" > "$run.log" 2>&1
  $cli eval-detector --model "$run" --data "$run/heldout.jsonl" --json "$run/eval.json" >> "$run.log" 2>&1
done; done; done
python3 - "$out/realfake" <<'PY'
import json, os, statistics as st, sys
root = sys.argv[1]; cells = {}
for name in os.listdir(root):
    p = os.path.join(root, name, "eval.json")
    if os.path.isfile(p):
        mode, frac, _ = name.rsplit("-", 2); cells.setdefault((float(frac), mode), []).append(json.load(open(p))["accuracy"])
print("| labels | GAN-BERT | supervised |\n| --- | --- | --- |")
for frac in sorted({f for f, _ in cells}):
    fmt = lambda v: f"{st.mean(v):.3f} ± {st.stdev(v) if len(v) > 1 else 0:.3f} (n={len(v)})" if v else "-"
    print(f"| {frac:.0%} | {fmt(cells.get((frac, 'gan'), []))} | {fmt(cells.get((frac, 'sup'), []))} |")
PY

# 4. Three adversarial rounds: the corpus as human texts, the generator and the 100%-label GAN-BERT detector (seed 1) live.
mkdir -p "$out/work" && cd "$out/work"
export Storage__DataDirectory=$out/work/data Retraining__RegistryRoot=$out/work/registry Retraining__ScratchRoot=$out/work/scratch
export Retraining__Store=memory Retraining__Samples=600 Retraining__MaxCorpus=600 Retraining__FoolRateSamples=200 Retraining__Device=cpu
export Retraining__Generator__LearningRate=2e-4 Retraining__Generator__Steps=40 Retraining__Detector__Epochs=2
if [ ! -f "$out/work/registry/generator/LIVE" ]; then
  $cli import-corpus "$tweets/train.csv" --written-by human
  $cli models register generator "$gen" --promote --notes "scratch:tiny on disaster tweets"
  $cli models register detector "$out/realfake/gan-1.0-s1" --promote --notes "GAN-BERT small, human vs gpt2 tweets"
fi
$cli retrain --here --rounds ${ROUNDS:-3} --report "$out/work/report"
