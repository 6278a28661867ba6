"""A sweep's trials, best first, and the chosen one.

Trials are ranked on the spec's metric at each trial's best epoch. When ``training.seed``
is one of the dimensions, trials that differ only in their seed form a group, ranked by
the mean over its seeds, with the spread (sample standard deviation) beside it. Test
accuracy is shown for the chosen trial (or group) alone: choosing on it would make it a
second validation set.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from nnbp.sweep.spec import Spec

SEED = "training.seed"
_ORDER = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "WAITING": 3, "FAIL": 4}


def trial_rows(study: Any, spec: Spec) -> list[dict[str, Any]]:
    """One dict per trial, best first: finished by their metric, then the rest."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "params": spec.params_to_overrides(
                    {k: v for k, v in t.params.items() if k in spec.space}
                ),
                spec.metric: t.value,
                "best_epoch": a.get("best_epoch"),
                "epochs": a.get("epochs"),
                "host": a.get("host"),
                "run_dir": a.get("run_dir"),
                **({"error": a["error"]} if "error" in a else {}),
                **(
                    {"retry_of": t.system_attrs["failed_trial"]}
                    if "failed_trial" in t.system_attrs
                    else {}
                ),
            }
        )
    sign = -1 if spec.maximise else 1

    def rank(row: dict[str, Any]) -> tuple:
        value = row[spec.metric]
        return (_ORDER.get(row["state"], 5), value is None, sign * (value or 0.0), row["number"])

    return sorted(rows, key=rank)


def seed_groups(rows: list[dict[str, Any]], spec: Spec) -> list[dict[str, Any]]:
    """Complete trials that differ only in ``training.seed``, best mean first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["state"] == "COMPLETE":
            rest = {k: v for k, v in row["params"].items() if k != SEED}
            groups.setdefault(json.dumps(rest, sort_keys=True), []).append(row)
    out = []
    for key, members in groups.items():
        members.sort(key=lambda m: m["params"][SEED])
        values = [m[spec.metric] for m in members]
        out.append(
            {
                "params": json.loads(key),
                "seeds": [m["params"][SEED] for m in members],
                "trials": [m["number"] for m in members],
                "mean": statistics.fmean(values),
                "spread": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
        )
    return sorted(out, key=lambda g: -g["mean"] if spec.maximise else g["mean"])


def summary(study: Any, spec: Spec) -> dict[str, Any]:
    """Everything ``nnbp sweep report --json`` prints."""
    rows = trial_rows(study, spec)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    out: dict[str, Any] = {
        "study": spec.name,
        "metric": spec.metric,
        "direction": "maximize" if spec.maximise else "minimize",
        "counts": counts,
        "trials": rows,
        "best": None,
    }
    attrs = {t.number: t.user_attrs for t in study.get_trials(deepcopy=False)}
    if SEED in spec.space:
        out["groups"] = seed_groups(rows, spec)
        if out["groups"]:
            best = out["groups"][0]
            tests = [attrs[n].get("test_accuracy") for n in best["trials"]]
            tests = [t for t in tests if t is not None]
            out["best"] = {
                **best,
                "test_accuracy": statistics.fmean(tests) if tests else None,
                "test_accuracy_spread": statistics.stdev(tests) if len(tests) > 1 else 0.0,
            }
    elif rows and rows[0]["state"] == "COMPLETE":
        best = rows[0]
        out["best"] = {
            **best,
            "test_accuracy": attrs[best["number"]].get("test_accuracy"),
            "kept_epoch": attrs[best["number"]].get("kept_epoch"),
        }
    return out


def _value(v: Any) -> str:
    return "-" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def _params(params: dict[str, Any]) -> str:
    def show(v: Any) -> str:  # 4 significant digits on screen; --json has them all
        return f"{v:.4g}" if isinstance(v, float) else json.dumps(v)

    return " ".join(f"{k}={show(v)}" for k, v in params.items())


def text(s: dict[str, Any]) -> list[str]:
    """The summary as lines for a terminal: the trials table, groups, the chosen one."""
    counts = ", ".join(f"{n} {state.lower()}" for state, n in s["counts"].items())
    goal = "maximised" if s["direction"] == "maximize" else "minimised"
    lines = [
        f"study {s['study']}: {sum(s['counts'].values())} trials ({counts});"
        f" {s['metric']} {goal} at each trial's best epoch"
    ]
    lines.append(
        f"{'#':>4}  {'state':<8}  {s['metric']:>10}  epoch  epochs  {'host':<12}  params  run"
    )
    for r in s["trials"]:
        note = f"  retry of {r['retry_of']}" if "retry_of" in r else ""
        note += f"  ({r['error']})" if "error" in r else ""
        lines.append(
            f"{r['number']:>4}  {r['state']:<8}  {_value(r[s['metric']]):>10}  "
            f"{_value(r['best_epoch']):>5}  {_value(r['epochs']):>6}  {str(r['host'] or '-'):<12}  "
            f"{_params(r['params'])}  {r['run_dir'] or '-'}{note}"
        )
    for g in s.get("groups", []):
        spread = f"{g['mean']:.4f} +- {g['spread']:.4f}"
        lines.append(f"over seeds {g['seeds']}: {spread}  {_params(g['params'])}")
    best = s["best"]
    if best is None:
        lines.append("best: none yet (no trial has completed)")
    elif "mean" in best:
        test = f"{_value(best['test_accuracy'])} +- {_value(best['test_accuracy_spread'])}"
        lines.append(
            f"best: {_params(best['params']) or 'the base config'} over"
            f" {len(best['trials'])} seeds: {s['metric']} {best['mean']:.4f} +-"
            f" {best['spread']:.4f}; test_accuracy {test}"
        )
    else:
        lines.append(
            f"best: trial {best['number']} ({_params(best['params'])}): {s['metric']}"
            f" {_value(best[s['metric']])} at epoch {best['best_epoch']};"
            f" test_accuracy {_value(best['test_accuracy'])} (kept epoch {best['kept_epoch']})"
        )
    return lines
