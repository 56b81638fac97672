#!/usr/bin/env bash
# GAN-BERT vs supervised-only on the shared data (see docs/detector.md), with the small backbone trained from
# scratch (BACKBONE=small, the default) or the pretrained all-MiniLM-L6-v2 (BACKBONE=minilm); EXTRA adds train-detector
# options to every run (e.g. EXTRA="--adapters 64"), TAG names the runs (default: the backbone).
# Usage: [SETS="argugpt m4"] [MODES="gan sup"] [BACKBONE=small|minilm] [EXTRA=...] [TAG=...] [LR=...] [BATCH=32] [MAXLEN=128] [PATIENCE=0] \
#        [VALFRAC=0.15] [JOBS=2] [THREADS=1] [GANBERTBOTS_DLL=...] \
#        scripts/detector-experiments.sh OUT_DIR "FRACTIONS" "SEEDS" MAX_EPOCHS
# Order: seed by seed, and within a seed every fraction x method x data set, so a grid cut short
# still has whole seeds. Each run: 30% of the groups (prompt_id / source_id) held out as the test
# set, VALFRAC of the remaining groups as the labelled validation split that chooses the epoch
# (best macro-F1; early stopping after PATIENCE epochs without improvement, 0 = off: every run
# goes to MAX_EPOCHS, and what a patience would have chosen is read off the history by the
# summary, since a stopped run's history is a prefix of the full one). JOBS runs at a time,
# each with THREADS torch threads. Finished runs (eval.json present) are skipped, so rerunning
# continues a grid. Summary: python3 scripts/detector-grid-summary.py OUT_DIR
# Needs ../shared/data and a built host (dotnet build -c Release src/GanBertBots.Host).
set -euo pipefail
out=${1:-/tmp/detector-experiments}; fractions=${2:-"0.01 0.05 0.1 1.0"}; seeds=${3:-"1 2 3"}; epochs=${4:-6}
repo=$(cd "$(dirname "$0")/.." && pwd); data=$repo/../shared/data
cli="dotnet ${GANBERTBOTS_DLL:-$repo/src/GanBertBots.Host/bin/Release/net10.0/ganbertbots.dll}"
case ${BACKBONE:-small} in
  small) backbone=(--backbone small --vocab "$data/bert-base-uncased/vocab.txt"); lr=${LR:-1e-3} ;;
  minilm) backbone=(--backbone bert "$data/all-MiniLM-L6-v2"); lr=${LR:-5e-5} ;;
  *) echo "BACKBONE must be small or minilm" >&2; exit 2 ;;
esac
tag=${TAG:-${BACKBONE:-small}}
read -r -a extra_args <<< "${EXTRA:-}"
mkdir -p "$out"
# ArguGPT: dev + test together, split by prompt_id below (the two files share prompts).
python3 - "$data" "$out" <<'PY'
import csv, sys
data, out = sys.argv[1], sys.argv[2]
rows = [r for f in ("machine-dev.csv", "machine-test.csv") for r in csv.DictReader(open(f"{data}/argugpt/{f}"))]
with open(f"{out}/argugpt.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=["prompt_id", "text", "model"]); w.writeheader()
    for r in rows: w.writerow({k: r[k] for k in ("prompt_id", "text", "model")})
# Out of distribution: only gpt-3.5-turbo is also among the training generators, so only its recall is scored.
ood = [r for r in csv.DictReader(open(f"{data}/argugpt/machine-ood.csv")) if r["model"] == "gpt-3.5-turbo"]
with open(f"{out}/argugpt-ood-gpt35.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=["prompt_id", "text", "model"]); w.writeheader()
    for r in ood: w.writerow({k: r[k] for k in ("prompt_id", "text", "model")})
PY

# A finished run (eval.json) is skipped unless it stopped early under another patience: then it is
# resumed (bit-exact continuation) up to the epoch limit under this patience, and evaluated again.
one_run() { # set mode fraction seed
  local set=$1 mode=$2 frac=$3 seed=$4 run=$out/$tag-$1-$2-$3-s$4 args extra resume=() before=0
  if [ -f "$run/eval.json" ]; then
    python3 -c "import json,sys;s=json.load(open('$run/training-state.json'));sys.exit(0 if s['stopped_early'] and s['patience']!=${PATIENCE:-0} else 1)" || return 0
    resume=(--resume); before=$(cat "$run/train-seconds"); rm -f "$run/eval.json"
  fi
  if [ "$set" = argugpt ]; then args=(--data "$out/argugpt.csv" --label-field model --group-field prompt_id)
  else args=(--data "$data/m4-subset/m4_subset.jsonl" --label-field label --group-field source_id); fi
  extra=(); [ "$mode" = sup ] && extra=(--supervised-only)
  [ ${#resume[@]} = 0 ] && { rm -rf "$run"; : > "$run.log"; }
  local start=$SECONDS
  if ! $cli train-detector "${args[@]}" --text-field text --test-fraction 0.3 --validation-fraction ${VALFRAC:-0.15} \
      --patience ${PATIENCE:-0} --threads ${THREADS:-1} "${backbone[@]}" --labeled-fraction "$frac" --batch-size ${BATCH:-32} \
      --epochs "$epochs" --max-length ${MAXLEN:-128} --lr "$lr" --seed "$seed" --force --out "$run" "${extra[@]}" "${extra_args[@]}" "${resume[@]}" >> "$run.log" 2>&1; then
    echo "$(date -u +%H:%M:%S) FAILED $run (see $run.log)"; return 0
  fi
  echo $((before + SECONDS - start)) > "$run/train-seconds"
  $cli eval-detector --model "$run" --data "$run/heldout.jsonl" --json "$run/eval.json.partial" >> "$run.log" 2>&1
  if [ "$set" = argugpt ]; then
    $cli eval-detector --model "$run" --data "$out/argugpt-ood-gpt35.csv" --label-field model --out "$run/eval-ood" --json "$run/eval-ood.json" >> "$run.log" 2>&1
  fi
  mv "$run/eval.json.partial" "$run/eval.json"
  echo "$(date -u +%H:%M:%S) $run $(python3 -c "import json;d=json.load(open('$run/eval.json'));s=json.load(open('$run/training-state.json'));print('acc',round(d['accuracy'],4),'F1',round(d['macro_f1'],4),'best epoch',s['best_epoch'],'of',s['epochs_done'])") $(cat "$run/train-seconds")s"
}

for seed in $seeds; do for frac in $fractions; do for mode in ${MODES:-gan sup}; do for set in ${SETS:-argugpt m4}; do
  while [ "$(jobs -rp | wc -l)" -ge "${JOBS:-2}" ]; do wait -n || true; done
  one_run "$set" "$mode" "$frac" "$seed" &
done; done; done; done
wait
