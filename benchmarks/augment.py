"""Augmentation benchmarks at real dims (video 2816, text 512), each beside its baseline.

Sources: the `qvh` synthetic world built from the first QUERIES queries of the real QVHighlights
train annotations (a stated subset, for the materialised runs: 4.6 GB each), and from the whole
train split (7,218 queries) for --recipes-only. In the same run:

- a plain sequential write of the corpus's byte count (8 MB blocks, then fsync): the disk limit.
  This machine's disk writes faster into space that was just freed, so a warm-up write is made
  first, and the disk write and the full run alternate twice, each after a deletion of the same
  size; the ratio is between their means;
- `amr augment` (2 workers, multiplier 10), full and --recipes-only, as a child process whose
  peak RSS (itself and its workers) is recorded, at multiplier 2 and 10 to show it is flat;
  --recipes-only once with no sketch cache in the store (the first run on a store reads every
  video once) and once with it;
- the research-script way for BASELINE_SAMPLES of the same samples: np.load of the source
  videos' float32 .npz files, compose in numpy, np.save one float32 .npy per sample;
- Parquet layouts for the feature column (write with fsync, read, size).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.corpus import Corpus, recipes_from_arrow
from amr.corpus.recipe import compose
from amr.corpus.schema import features_to_arrow
from amr.datasets import Store, SynthConfig, default_annotations, synthesize
from benchmarks.scratch import scratch_dir

QUERIES = 1000
BASELINE_SAMPLES = 600
WORKERS = 2

CHILD = """
import json, resource, sys, time
from amr.augment import AugmentConfig, augment
start = time.perf_counter()
summary = augment(sys.argv[1], "train", sys.argv[2],
                  AugmentConfig(multiplier=int(sys.argv[3]), recipes_only=sys.argv[4] == "1"),
                  workers=int(sys.argv[5]), show_progress=False)
# This process's own peak (VmHWM, see benchmarks/child.py); the workers (forked, no exec) are
# in RUSAGE_CHILDREN.
from benchmarks.child import peak_rss_mb
peak_kb = max(peak_rss_mb() * 1024, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"rows": summary.rows, "bytes": summary.bytes_written,
                  "seconds": time.perf_counter() - start, "peak_mb": peak_kb / 1024}))
"""


def _augment(store: Path, out: Path, multiplier: int, recipes_only: bool) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(store),
            str(out),
            str(multiplier),
            "1" if recipes_only else "0",
            str(WORKERS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _disk_write(path: Path, nbytes: int) -> float:
    """Seconds to write nbytes sequentially (8 MB blocks) and fsync them."""
    block = np.random.default_rng(0).integers(0, 255, 8 << 20, dtype=np.uint8).tobytes()
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(nbytes // len(block)):
            f.write(block)
        f.write(block[: nbytes % len(block)])
        f.flush()
        os.fsync(f.fileno())
    seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def _research_script(
    store: Store, corpus: Path, npz_dir: Path, out: Path
) -> tuple[float, int, int]:
    """The per-file way, on the corpus's first augmented samples: (seconds, samples, bytes)."""
    table = pq.read_table(
        Corpus.open(corpus).part_paths()[0], columns=["sample_id", "kind", "n_clips", "recipe"]
    )
    keep = [i for i, kind in enumerate(table.column("kind").to_pylist()) if kind != "original"]
    table = table.take(keep[:BASELINE_SAMPLES])
    recipes = recipes_from_arrow(table.column("recipe"))
    vids = {paste.vid for recipe in recipes for paste in recipe}
    for vid in vids:  # the community layout: one float32 .npz per video (setup, not timed)
        np.savez(npz_dir / f"{vid}.npz", features=store.video_features(vid).astype(np.float32))
    out.mkdir()
    start = time.perf_counter()
    for sample_id, n_clips, recipe in zip(
        table.column("sample_id").to_pylist(),
        table.column("n_clips").to_pylist(),
        recipes,
        strict=True,
    ):

        def load(vid: str) -> np.ndarray:
            return np.load(npz_dir / f"{vid}.npz")["features"]

        np.save(out / f"{sample_id}.npy", compose(recipe, n_clips, load))
    os.sync()
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out.iterdir())
    return seconds, len(recipes), size


def _layouts(work: Path) -> list[tuple[str, str, str, str]]:
    n, clips, dim = 200, 75, 2816
    flat = np.random.default_rng(0).standard_normal((n * clips, dim)).astype(np.float16)
    offsets = pa.array(np.arange(0, n * clips + 1, clips, dtype=np.int32))
    typed = pa.ListArray.from_arrays(
        offsets, pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), dim)
    )
    blob = pa.ListArray.from_arrays(
        offsets,
        pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(2 * dim), n * clips, [None, pa.py_buffer(flat)]
        ),
    )
    per_row = features_to_arrow(flat, np.arange(0, n * clips + 1, clips))
    variants = [
        ("list<fixed_size_list<float16>>, plain", typed, {}),
        (
            "list<fixed_size_list<float16>>, byte_stream_split",
            typed,
            {"use_byte_stream_split": ["features.list.element.list.element"]},
        ),
        (
            "list<fixed_size_list<float16>>, zstd-1",
            typed,
            {"compression": "zstd", "compression_level": 1},
        ),
        ("list<fixed_size_binary> (format 2), plain", blob, {}),
        ("list<fixed_size_binary>, zstd-1", blob, {"compression": "zstd", "compression_level": 1}),
        ("binary, one value per row (amr, format 3), plain", per_row, {}),
    ]
    rows = []
    for name, column, options in variants:
        path = work / "layout.parquet"
        table = pa.table({"features": column})
        start = time.perf_counter()
        pq.write_table(
            table,
            path,
            row_group_size=64,
            use_dictionary=False,
            write_statistics=False,
            **{"compression": "none", **options},
        )
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
        write = time.perf_counter() - start
        start = time.perf_counter()
        pq.read_table(path)
        read = time.perf_counter() - start
        rows.append(
            (
                name,
                f"{flat.nbytes / write / 1e6:,.0f} MB/s",
                f"{flat.nbytes / read / 1e6:,.0f} MB/s",
                f"{path.stat().st_size / flat.nbytes:.2f}",
            )
        )
        path.unlink()
    return rows


def _synthesize(work: Path, name: str, queries: int | None) -> Path:
    train = default_annotations("qvh")[0][1]
    subset = work / f"{name}.jsonl"
    with open(train, encoding="utf-8") as src:
        lines = src.readlines()
    subset.write_text("".join(lines[:queries]), encoding="utf-8")
    config = SynthConfig.from_preset("qvh", video_dim=2816, text_dim=512)
    synthesize(work / name, config, [("train", subset)], show_progress=False)
    return work / name


def run() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], str, dict]:
    with scratch_dir() as work:
        store_path = _synthesize(work, "store", QUERIES)
        whole_path = _synthesize(work, "whole-split", None)
        store = Store.open(store_path)

        first = _augment(store_path, work / "full", 10, False)
        _disk_write(work / "warm-up.bin", first["bytes"])
        disks, fulls = [], []
        for _ in range(2):
            shutil.rmtree(work / "full")
            disks.append(_disk_write(work / "disk.bin", first["bytes"]))
            fulls.append(_augment(store_path, work / "full", 10, False))
        small = _augment(store_path, work / "small", 2, False)
        cold = _augment(whole_path, work / "recipes-cold", 10, True)
        warm = _augment(whole_path, work / "recipes-warm", 10, True)
        (work / "npz").mkdir()
        base_seconds, base_samples, base_bytes = _research_script(
            store, work / "full", work / "npz", work / "baseline"
        )

        full_bytes = fulls[0]["bytes"]
        full_seconds = sum(f["seconds"] for f in fulls) / len(fulls)
        rows_full = fulls[0]["rows"]
        disk_seconds = sum(disks) / len(disks)
        ours_rate = rows_full / full_seconds
        base_rate = base_samples / base_seconds
        ours_per_sample = full_bytes / rows_full
        base_per_sample = base_bytes / base_samples
        disk_rate = full_bytes / disk_seconds
        rows = [
            (
                "disk: sequential write + fsync (mean of 2)",
                f"{full_bytes / 1e9:.2f} GB",
                " / ".join(f"{d:.1f} s" for d in disks),
                f"{disk_rate / 1e6:,.0f} MB/s = {disk_rate / ours_per_sample:,.0f} samples/s",
                "",
            ),
            (
                "amr augment, x10, full (mean of 2)",
                f"{rows_full:,} rows, {full_bytes / 1e9:.2f} GB",
                " / ".join(f"{f['seconds']:.1f} s" for f in fulls),
                f"{ours_rate:,.0f} samples/s = {full_bytes / full_seconds / 1e6:,.0f} MB/s",
                f"{disk_seconds / full_seconds:.0%} of disk · "
                f"peak RSS {max(f['peak_mb'] for f in fulls):,.0f} MB",
            ),
            (
                "amr augment, x2, full",
                f"{small['rows']:,} rows, {small['bytes'] / 1e9:.2f} GB",
                f"{small['seconds']:.1f} s",
                f"{small['rows'] / small['seconds']:,.0f} samples/s",
                f"peak RSS {small['peak_mb']:,.0f} MB",
            ),
            (
                "amr augment, x10, --recipes-only, whole split, first run on the store",
                f"{cold['rows']:,} rows, {cold['bytes'] / 1e6:.1f} MB",
                f"{cold['seconds']:.1f} s",
                f"{cold['rows'] / cold['seconds']:,.0f} samples/s",
                f"peak RSS {cold['peak_mb']:,.0f} MB · computes the sketch cache",
            ),
            (
                "amr augment, x10, --recipes-only, whole split",
                f"{warm['rows']:,} rows, {warm['bytes'] / 1e6:.1f} MB",
                f"{warm['seconds']:.1f} s",
                f"{warm['rows'] / warm['seconds']:,.0f} samples/s",
                f"peak RSS {warm['peak_mb']:,.0f} MB",
            ),
            (
                "research script: np.load .npz, np.save .npy f32",
                f"{base_samples} samples, {base_bytes / 1e6:.0f} MB",
                f"{base_seconds:.1f} s",
                f"{base_rate:,.0f} samples/s",
                "",
            ),
            (
                "amr vs research script",
                "",
                "",
                f"{ours_rate / base_rate:.1f}x the speed",
                f"{ours_per_sample / base_per_sample:.2f}x the bytes per sample",
            ),
        ]
        layouts = _layouts(work)
        note = (
            f"{QUERIES} QVHighlights train queries (synthetic features, 2816/512-d) for the full "
            f"runs, all 7,218 for --recipes-only; {WORKERS} workers; "
            f"materialised features ≈ {ours_per_sample / 1e3:.0f} KB/sample"
        )
        headline = {
            "stage": "augmentation: amr augment x10, 2816-d, full features",
            "figure": f"{ours_rate:,.0f} samples/s ({disk_seconds / full_seconds:.0%} of disk)",
            "comparison": f"{ours_rate / base_rate:.1f}× the research script "
            f"(per-file .npz → .npy, {base_rate:,.0f} samples/s), "
            f"{ours_per_sample / base_per_sample:.2f}× its bytes",
            "peak_mb": max(f["peak_mb"] for f in fulls),
            "peak_of": "augment process and its workers",
        }
    return rows, layouts, note, headline
