#!/usr/bin/env bash
# An epoch's seconds / train_seconds with nnbp at REV against the checkout, for
# configs/mnist.yaml (30 epochs) and configs/best.yaml (8), alternated, ROUNDS times:
#   bash scripts/epoch_seconds.sh REV [ROUNDS]
# REV's tree is extracted and imported with `python -S` from outside the checkout, so
# the editable install cannot shadow it; both sides read data/ through NNBP_DATA_DIR.
set -euo pipefail
rev=${1:?usage: epoch_seconds.sh REV [ROUNDS]}
rounds=${2:-2}
repo=$(git rev-parse --show-toplevel)
python=$repo/.venv/bin/python
site=$("$python" -c 'import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/before"
git -C "$repo" archive "$rev" nnbp | tar -x -C "$work/before"
cd "$work"
export NNBP_DATA_DIR=$repo/data
for round in $(seq "$rounds"); do
  for side in before after; do
    for cfg in mnist best; do
      set -- --out "$work/runs/$side-$cfg-$round" --quiet
      [ "$cfg" = best ] && set -- "$@" --set training.epochs=8
      if [ "$side" = before ]; then
        PYTHONPATH=$work/before:$site "$python" -S -m nnbp train "$repo/configs/$cfg.yaml" "$@" >/dev/null
      else
        "$python" -m nnbp train "$repo/configs/$cfg.yaml" "$@" >/dev/null
      fi
    done
  done
done
"$python" - "$work/runs" "$rounds" <<'PY'
import statistics, sys
from nnbp.metrics import read_log
runs, rounds = sys.argv[1], int(sys.argv[2])
def rows(side, cfg, r):
    return read_log(f"{runs}/{side}-{cfg}-{r}/metrics.jsonl")
for cfg in ("mnist", "best"):
    for side in ("before", "after"):
        for r in range(1, rounds + 1):
            x = rows(side, cfg, r)
            sec, train = sum(e["seconds"] for e in x), sum(e["train_seconds"] for e in x)
            med = statistics.median(e["seconds"] / e["train_seconds"] for e in x)
            print(f"{cfg:5} {side:6} round {r}: {len(x)} epochs, seconds {sec:.2f},"
                  f" train_seconds {train:.2f}, sum ratio {sec / train:.3f}, median epoch {med:.3f}")
    a, b = rows("before", cfg, 1), rows("after", cfg, 1)
    keys = ("train_accuracy", "validation_accuracy", "test_accuracy")
    same = all(p[k] == q[k] for p, q in zip(a, b) for k in keys)
    cost = max(abs(p["train_cost"] - q["train_cost"]) for p, q in zip(a, b))
    print(f"{cfg}: accuracies the same: {same}; largest train_cost difference {cost:.2e}")
PY
