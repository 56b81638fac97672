#!/usr/bin/env bash
# GAN-BERT vs supervised-only with the small backbone on the shared data (see docs/detector.md).
# Usage: [SETS="argugpt m4"] [LR=1e-3] [MAXLEN=128] [GANBERTBOTS_DLL=...] scripts/detector-experiments.sh OUT_DIR "FRACTIONS" "SEEDS" EPOCHS
# Needs ../shared/data and a built host (dotnet build src/GanBertBots.Host).
set -euo pipefail
out=${1:-/tmp/detector-experiments}; fractions=${2:-"0.1 1.0"}; seeds=${3:-"1"}; epochs=${4:-4}
repo=$(cd "$(dirname "$0")/.." && pwd); data=$repo/../shared/data
cli="dotnet ${GANBERTBOTS_DLL:-$repo/src/GanBertBots.Host/bin/Debug/net10.0/ganbertbots.dll}"
vocab=$data/bert-base-uncased/vocab.txt
mkdir -p "$out"
# ArguGPT: dev + test together, split by prompt_id below (the two files share prompts).
python3 - "$data" "$out" <<'PY'
import csv, sys
data, out = sys.argv[1], sys.argv[2]
rows = [r for f in ("machine-dev.csv", "machine-test.csv") for r in csv.DictReader(open(f"{data}/argugpt/{f}"))]
with open(f"{out}/argugpt.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=["prompt_id", "text", "model"]); w.writeheader()
    for r in rows: w.writerow({k: r[k] for k in ("prompt_id", "text", "model")})
PY
for seed in $seeds; do for frac in $fractions; do for mode in gan sup; do
  for set in ${SETS:-argugpt m4}; do
    run=$out/$set-$mode-$frac-s$seed
    [ -f "$run/eval.json" ] && continue
    if [ $set = argugpt ]; then args=(--data "$out/argugpt.csv" --label-field model --group-field prompt_id)
    else args=(--data "$data/m4-subset/m4_subset.jsonl" --label-field label --group-field source_id); fi
    extra=(); [ $mode = sup ] && extra=(--supervised-only)
    rm -rf "$run"
    $cli train-detector "${args[@]}" --text-field text --test-fraction 0.3 --backbone small --vocab "$vocab" \
      --labeled-fraction $frac --epochs $epochs --max-length ${MAXLEN:-128} --lr ${LR:-1e-3} --seed $seed --out "$run" "${extra[@]}" > "$run.log" 2>&1
    $cli eval-detector --model "$run" --data "$run/heldout.jsonl" --json "$run/eval.json" >> "$run.log" 2>&1
    if [ $set = argugpt ]; then
      $cli eval-detector --model "$run" --data "$data/argugpt/machine-ood.csv" --label-field model --out "$run/eval-ood" --json "$run/eval-ood.json" >> "$run.log" 2>&1
    fi
    echo "$(date -u +%H:%M:%S) $run $(python3 -c "import json;d=json.load(open('$run/eval.json'));print(round(d['accuracy'],4),round(d['macro_f1'],4),round(d['mcc'],4))")"
  done
done; done; done
