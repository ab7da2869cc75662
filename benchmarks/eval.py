"""Evaluation speed on the real annotation files (QVHighlights val, Charades-STA val).

Predictions are made up per query from the ground truth with a fixed seed: 10 windows (some
near a true moment, the rest anywhere; scores with ties), a saliency score per clip. Timed on
one core: reading + validating the predictions, reading the ground truth, and `evaluate`
(best of 3), in a child process with every thread pool held to one thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from amr.datasets import default_annotations
from benchmarks.scratch import scratch_dir

WINDOWS = 10

CHILD = """
import json, sys, time
start = time.perf_counter()
from amr.eval import evaluate, load_ground_truth, read_predictions
from benchmarks.child import peak_rss_mb
imported = time.perf_counter()
predictions = read_predictions(sys.argv[1]); read = time.perf_counter()
truth = load_ground_truth(sys.argv[2]); loaded = time.perf_counter()
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    result = evaluate(predictions, truth)
    best = min(best, time.perf_counter() - t)
print(json.dumps({"import": imported - start, "read": read - imported, "truth": loaded - read,
                  "evaluate": best, "queries": result["amr"]["queries"],
                  "windows": int(predictions.window_offsets[-1]),
                  "brief": result["brief"],
                  "peak_mb": peak_rss_mb()}))
"""


def _made_up_predictions(annotations: Path, out: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with open(annotations) as f, open(out, "w") as g:
        for line in f:
            row = json.loads(line)
            duration = row["duration"]
            true = np.asarray(row["relevant_windows"], dtype=np.float64)
            near = true[rng.integers(len(true), size=WINDOWS)] + rng.normal(0, 3, (WINDOWS, 2))
            start = rng.uniform(0, duration, WINDOWS)
            anywhere = np.stack([start, start + rng.uniform(1, 40, WINDOWS)], axis=1)
            windows = np.where(rng.random((WINDOWS, 1)) < 0.4, near, anywhere)
            windows = np.clip(np.sort(windows, axis=1), 0, duration).round(1)
            scores = np.sort(rng.random(WINDOWS).round(2))[::-1]
            record = {
                "qid": row["qid"],
                "pred_relevant_windows": np.column_stack([windows, scores]).tolist(),
            }
            if "saliency_scores" in row:
                saliency = rng.normal(0, 1, int(duration / 2)).round(3)
                record["pred_saliency_scores"] = saliency.tolist()
            g.write(json.dumps(record) + "\n")
    return out


def run() -> tuple[list[tuple[str, ...]], dict]:
    rows, totals = [], {}
    one_thread = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    env = {**os.environ, **dict.fromkeys(one_thread, "1")}
    qvh = dict(default_annotations("qvh"))["val"]
    charades = dict(default_annotations("charades"))["val"]
    with scratch_dir("amr-bench-eval-") as tmp:
        for name, annotations in (("QVHighlights val", qvh), ("Charades-STA val", charades)):
            preds = _made_up_predictions(annotations, Path(tmp) / "preds.jsonl", seed=0)
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(preds), str(annotations)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            t = json.loads(done.stdout.strip().splitlines()[-1])
            total = t["read"] + t["truth"] + t["evaluate"]
            totals[name] = (total, t["peak_mb"])
            rows.append(
                (
                    name,
                    f"{t['queries']:,} queries × {WINDOWS} windows",
                    f"{t['read']:.2f} s",
                    f"{t['truth']:.2f} s",
                    f"{t['evaluate']:.2f} s",
                    f"{total:.2f} s (+{t['import']:.2f} s import)",
                )
            )
    qvh_total, qvh_peak = totals["QVHighlights val"]
    headline = {
        "stage": "evaluation: amr eval, QVHighlights val, 1 core",
        "figure": f"{qvh_total:.2f} s",
        "comparison": f"target < 1 s; Charades-STA val {totals['Charades-STA val'][0]:.2f} s",
        "peak_mb": qvh_peak,
        "peak_of": "eval process",
    }
    return rows, headline
