"""Training input pipeline throughput at real dims (video 2816, text 512), on 2 cores.

A corpus is made from the first 1,000 QVHighlights train queries of the `qvh` synthetic world
(x10, 4.6 GB), then stage 1's batches (augmented rows, batch 32) are drawn for a whole epoch,
3 times per thread count, timing everything from reading Parquet to torch tensors. The first
epoch reads from the disk (augment drops the pages it wrote from the page cache); the others
from the page cache, as training does from its second epoch on.
"""

from __future__ import annotations

import time

from amr.augment import AugmentConfig, augment
from amr.train.curriculum import plan_epoch
from amr.train.data import CorpusSource, LoaderConfig, iterate_batches
from benchmarks.augment import _synthesize
from benchmarks.scratch import scratch_dir

QUERIES = 1000
STAGE1 = {"splice", "boundary", "negative"}


def _epoch(source: CorpusSource) -> tuple[int, float]:
    plan = plan_epoch(source.eligible, 0, 0, None, source.config.window_rows)
    start = time.perf_counter()
    samples = sum(len(batch) for _, batch in iterate_batches(source, plan))
    return samples, time.perf_counter() - start


def run() -> tuple[list[tuple[str, ...]], dict]:
    rows, medians = [], {}
    with scratch_dir() as work:
        store = _synthesize(work, "store", QUERIES)
        corpus = work / "corpus"
        config = AugmentConfig(multiplier=10)
        augment(store, "train", corpus, config, workers=2, show_progress=False)
        for threads in (1, 2):
            source = CorpusSource(corpus, store, STAGE1, LoaderConfig(workers=threads), seed=0)
            runs = [_epoch(source) for _ in range(3)]
            speeds = sorted(n / s for n, s in runs)
            medians[threads] = speeds[1]
            rows.append(
                (
                    f"stage-1 batches of 32, {threads} loader thread{'s' * (threads > 1)}",
                    f"{runs[0][0]:,} samples",
                    " / ".join(f"{s:.2f} s" for _, s in runs),
                    f"{speeds[1]:,.0f} samples/s (median; best {speeds[-1]:,.0f})",
                )
            )
    headline = {
        "stage": "training input: stage-1 batches of 32, 2816/512-d, 2 threads",
        "figure": f"{medians[2]:,.0f} samples/s",
        "comparison": f"1 thread: {medians[1]:,.0f} samples/s",
    }
    return rows, headline
