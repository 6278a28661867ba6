"""Train one config with several seeds and summarise each run's best-epoch test accuracy.

    python scripts/seeds.py configs/mnist.yaml 1 2 3 4 5      (or: make seeds)

Each seed trains into runs/<name>-seed<N>/ (replacing an earlier run of that seed). The
table gives, per seed, the best test accuracy over the epochs and its epoch (how the
book reports its figures), the test accuracy at the best validation epoch, the final
test accuracy, and the median seconds per epoch; then the mean and spread over seeds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path


def main(config: str, seeds: list[int]) -> None:
    name = Path(config).stem
    best = []
    print("seed  best_test  (epoch)  test@best_val  final_test  s/epoch  sgd_s/epoch")
    for seed in seeds:
        out = Path("runs") / f"{name}-seed{seed}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "nnbp",
                "train",
                config,
                "--overwrite",
                "--out",
                str(out),
                "--set",
                f"training.seed={seed}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        top = max(rows, key=lambda r: r["test_accuracy"])
        at_val = max(rows, key=lambda r: r["validation_accuracy"] or 0)
        best.append(top["test_accuracy"])
        print(
            f"{seed:>4}  {top['test_accuracy']:.4f}     ({top['epoch']:>2})     "
            f"{at_val['test_accuracy']:.4f}        {rows[-1]['test_accuracy']:.4f}      "
            f"{statistics.median(r['seconds'] for r in rows):.2f}     "
            f"{statistics.median(r['train_seconds'] for r in rows):.2f}",
            flush=True,
        )
    spread = statistics.stdev(best) if len(best) > 1 else 0.0
    print(
        f"best-epoch test accuracy: mean {statistics.mean(best):.4f}, sd {spread:.4f},"
        f" max {max(best):.4f}, min {min(best):.4f} over {len(best)} seeds"
    )


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2:]] or [1, 2, 3, 4, 5])
