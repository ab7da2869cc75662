"""Store benchmarks: synthesis speed, and feature lookups against the ways research code does it.

Lookups are measured at real dims (video 2816, text 512) on the QVHighlights val split of the
`qvh` synthetic world, sequentially and in random order, beside two baselines run in the same
process: np.load of one Moment-DETR style .npz per video (float32, the community layout), and a
Parquet scan filtered by vid per lookup (what "just use Parquet" does without an index).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from amr.datasets import (
    ImportConfig,
    Store,
    SynthConfig,
    default_annotations,
    import_dataset,
    synthesize,
)
from benchmarks.child import peak_rss_mb
from benchmarks.scratch import scratch_dir

RANDOM_LOOKUPS = 300
SCAN_LOOKUPS = 20


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def synth_rows(work: Path) -> list[tuple[str, str, str, str]]:
    rows = []
    seconds = _timed(lambda: synthesize(work / "demo", SynthConfig(), show_progress=False))
    store = Store.open(work / "demo")
    rows.append(
        (
            "synth demo (128/64-d)",
            f"{len(store.videos)} videos",
            f"{seconds:.1f} s",
            f"{len(store.videos) / seconds:,.0f} videos/s",
        )
    )
    annotations = default_annotations("qvh")
    config = SynthConfig.from_preset("qvh")
    seconds = _timed(lambda: synthesize(work / "qvh", config, annotations, show_progress=False))
    store = Store.open(work / "qvh")
    rows.append(
        (
            "synth qvh train+val (128/64-d)",
            f"{len(store.videos)} videos",
            f"{seconds:.1f} s",
            f"{len(store.videos) / seconds:,.0f} videos/s",
        )
    )
    return rows


def lookup_rows(work: Path) -> tuple[list[tuple[str, str, str, str]], dict]:
    val = [pair for pair in default_annotations("qvh") if pair[0] == "val"]
    config = SynthConfig.from_preset("qvh", video_dim=2816, text_dim=512)
    root = work / "qvh_real_dims"
    seconds = _timed(lambda: synthesize(root, config, val, show_progress=False))
    size = sum(p.stat().st_size for p in root.glob("*.parquet"))
    rows = [
        (
            "synth qvh val (2816/512-d)",
            f"{size / 1e6:,.0f} MB",
            f"{seconds:.1f} s",
            f"{size / seconds / 1e6:,.0f} MB/s written",
        )
    ]

    store = Store.open(root)
    vids = list(store.videos.keys())
    order = np.random.default_rng(0).permutation(vids)[:RANDOM_LOOKUPS]

    seconds = _timed(lambda: [store.video_features(v) for v in vids])
    rows.append(
        (
            "store, sequential",
            f"{len(vids)} videos",
            f"{seconds:.2f} s",
            f"{len(vids) / seconds:,.0f} videos/s",
        )
    )
    store = Store.open(root)
    seconds = _timed(lambda: [store.video_features(v) for v in order])
    store_rate = RANDOM_LOOKUPS / seconds
    rows.append(
        (
            "store, random order",
            f"{RANDOM_LOOKUPS} videos",
            f"{seconds:.2f} s",
            f"{RANDOM_LOOKUPS / seconds:,.0f} videos/s",
        )
    )
    rows.append(("peak RSS so far (synth + store)", "", "", f"{peak_rss_mb():,.0f} MB"))

    npz_dir = work / "npz"
    npz_dir.mkdir()
    for vid in order:
        np.savez(npz_dir / f"{vid}.npz", features=store.video_features(vid).astype(np.float32))
    seconds = _timed(lambda: [np.load(npz_dir / f"{v}.npz")["features"] for v in order])
    npz_rate = RANDOM_LOOKUPS / seconds
    rows.append(
        (
            "baseline: np.load one .npz per video",
            f"{RANDOM_LOOKUPS} videos",
            f"{seconds:.2f} s",
            f"{RANDOM_LOOKUPS / seconds:,.0f} videos/s",
        )
    )

    rows.append(_import_row(work, store, npz_dir, set(order)))

    path = root / "video_features.parquet"
    scan = order[:SCAN_LOOKUPS]
    seconds = _timed(lambda: [pq.read_table(path, filters=[("vid", "=", v)]) for v in scan])
    rows.append(
        (
            "baseline: Parquet scan per lookup",
            f"{SCAN_LOOKUPS} videos",
            f"{seconds:.2f} s",
            f"{SCAN_LOOKUPS / seconds:,.1f} videos/s",
        )
    )
    headline = {
        "stage": "datasets: store lookups (2816-d, random order)",
        "figure": f"{store_rate:,.0f} videos/s",
        "comparison": f"{store_rate / npz_rate:.1f}× np.load of one .npz per video "
        f"({npz_rate:,.0f} videos/s)",
    }
    return rows, headline


def run() -> tuple[list[tuple[str, str, str, str]], dict]:
    with scratch_dir() as tmp:
        work = Path(tmp)
        lookups, headline = lookup_rows(work)
        rows = synth_rows(work) + lookups
    return rows, headline


def _import_row(work: Path, store: Store, npz_dir: Path, vids: set[str]):
    """`amr datasets import` of the baseline's .npz directory (Moment-DETR layout)."""
    rows = [r for r in store.samples("val").to_pylist() if r["vid"] in vids]
    annotations = work / "val_subset.jsonl"
    annotations.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text_dir = work / "text"
    text_dir.mkdir()
    for r in rows:
        np.savez(
            text_dir / f"qid{r['qid']}.npz",
            last_hidden_state=store.text_features(r["qid"]).astype(np.float32),
        )
    config = ImportConfig(
        "qvhighlights", [("val", annotations)], [npz_dir], text_dir, work / "imported"
    )
    seconds = _timed(lambda: import_dataset(config, show_progress=False))
    size = sum(p.stat().st_size for p in npz_dir.iterdir())
    return (
        "import: Moment-DETR .npz dir → store",
        f"{len(vids)} videos",
        f"{seconds:.2f} s",
        f"{len(vids) / seconds:,.0f} videos/s ({size / seconds / 1e6:,.0f} MB/s of .npz)",
    )
