"""`amr show` speed: contact sheets of 12 panels from a 2816-d corpus, after start-up.

The corpus is `amr augment` x10 of the `qvh` synthetic world built from the first QUERIES real
QVHighlights train queries at real dims (video 2816, text 512). Timed in one process, best of 3:
a 12-sample sheet chosen by SQL (the hardest negatives), one chosen by sample id, and a
12-query sheet with two made-up predictions files (ground truth shifted, fixed seed). Start-up
(importing amr.show and matplotlib, drawing a first figure) is timed on its own.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from amr.augment import AugmentConfig, augment
from benchmarks.augment import _synthesize
from benchmarks.scratch import scratch_dir

QUERIES = 400
PANELS = 12


def _predictions(path: Path, samples: list[dict], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for s in samples:
            start, end = s["relevant_windows"][0]
            shift = float(rng.integers(-3, 4)) * 2
            windows = [[max(0.0, start + shift), max(2.0, end + shift), 0.9], [0.0, 10.0, 0.3]]
            f.write(json.dumps({"qid": s["qid"], "pred_relevant_windows": windows}) + "\n")
    return path


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run():
    with scratch_dir() as work:
        store_path = _synthesize(work, "store", QUERIES)
        corpus = work / "corpus"
        summary = augment(store_path, "train", corpus, AugmentConfig(multiplier=10),
                          workers=2, show_progress=False)  # fmt: skip
        start = time.perf_counter()
        from amr.datasets import Store
        from amr.show import Selection, show_queries, show_samples

        show_samples(corpus, Selection(sample_ids=(0,)), work / "first.png")
        startup = time.perf_counter() - start
        where = "kind = 'negative' ORDER BY difficulty DESC"
        by_sql = _best(lambda: show_samples(corpus, Selection(where=where, limit=PANELS),
                                            work / "sql.png"))  # fmt: skip
        ids = tuple(range(0, summary.rows, summary.rows // PANELS))[:PANELS]
        by_id = _best(lambda: show_samples(corpus, Selection(sample_ids=ids), work / "ids.png"))
        samples = Store.open(store_path).samples("train").to_pylist()
        runs = [_predictions(work / f"run{i}.jsonl", samples, i) for i in (0, 1)]
        qids = [s["qid"] for s in samples[:PANELS]]
        queries = _best(lambda: show_queries(store_path, "train", qids, runs, work / "q.png"))
        size = f"{summary.rows:,} rows, {summary.bytes_written / 1e9:.2f} GB"
        rows = [
            ("start-up: import amr.show + matplotlib, a 1-panel sheet", "", f"{startup:.2f} s"),
            (f"{PANELS} samples by --where (hardest negatives)", size, f"{by_sql:.2f} s"),
            (f"{PANELS} samples by --sample-id", size, f"{by_id:.2f} s"),
            (f"{PANELS} queries x 2 predictions files", f"{len(samples):,} queries",
             f"{queries:.2f} s"),
        ]  # fmt: skip
    headline = {
        "stage": f"amr show: a {PANELS}-sample sheet, 2816-d corpus",
        "figure": f"{max(by_sql, by_id):.2f} s after start-up",
        "comparison": f"target well under 1 s; start-up {startup:.2f} s",
    }
    return rows, headline
