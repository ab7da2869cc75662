"""`amr corpus export` at real dims (video 2304 SlowFast + 512 CLIP = 2816, text 512), beside
the disk's own write speed in the same run.

Source: the `qvh` synthetic world built from the first QUERIES queries of the real QVHighlights
train annotations, its store.json given two named sources (2304 + 512 columns; the features
are synthetic, only the layout matters for speed), augmented at multiplier 2 and 10. Each
export runs in a child process whose peak RSS is recorded: memory stays flat as the corpus
grows five-fold. Two disk figures, each of the same byte count: a plain sequential write
(8 MB blocks, then fsync) and plain writes of as many files as the export makes (same mean
size, 4 threads, then sync; no reading, no checksums): on this machine a file costs metadata
work, so the second is the export's real ceiling. An export ends with a sync too. They
alternate twice after a warm-up; the ratios are between their means.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from amr.augment import AugmentConfig, augment
from amr.datasets.store import META_FILE
from benchmarks.augment import _disk_write, _synthesize
from benchmarks.scratch import scratch_dir

QUERIES = 500
SOURCES = [{"name": "slowfast_features", "dim": 2304}, {"name": "clip_features", "dim": 512}]

CHILD = """
import json, sys, time
from amr.export import ExportConfig, export_corpus
start = time.perf_counter()
s = export_corpus(ExportConfig(corpus=sys.argv[1], out=sys.argv[2], format="moment-detr",
                               store=sys.argv[3], overwrite=True), show_progress=False)
seconds = time.perf_counter() - start
from benchmarks.child import peak_rss_mb
files = sum(1 for p in s.out.rglob("*.npz"))
print(json.dumps({"rows": s.rows.written, "videos": s.videos, "bytes": s.feature_bytes,
                  "files": files, "seconds": seconds, "peak_mb": peak_rss_mb()}))
"""


def _export(corpus: Path, out: Path, store: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(corpus), str(out), str(store)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _files_write(root: Path, files: int, nbytes: int) -> float:
    """Seconds to write `files` files of nbytes in all (4 threads), then sync; removed after."""
    root.mkdir()
    block = np.random.default_rng(0).integers(0, 255, nbytes // files, dtype=np.uint8).tobytes()

    def write(i: int) -> None:
        fd = os.open(root / f"{i}.bin", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, block)
        os.close(fd)

    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(files)))
    os.sync()
    seconds = time.perf_counter() - start
    shutil.rmtree(root)
    return seconds


def _name_sources(store: Path) -> None:
    meta = json.loads((store / META_FILE).read_text())
    meta["video_sources"] = SOURCES
    (store / META_FILE).write_text(json.dumps(meta))


def run() -> tuple[list[tuple[str, ...]], dict]:
    with scratch_dir() as work:
        store = _synthesize(work, "store", QUERIES)
        _name_sources(store)
        for multiplier in (2, 10):
            config = AugmentConfig(multiplier=multiplier)
            augment(store, "train", work / f"x{multiplier}", config, workers=2, show_progress=False)
        small = _export(work / "x2", work / "out-x2", store)
        shutil.rmtree(work / "out-x2")
        first = _export(work / "x10", work / "out", store)
        _disk_write(work / "warm-up.bin", first["bytes"])
        disks, many, exports = [], [], []
        for _ in range(2):
            shutil.rmtree(work / "out")
            disks.append(_disk_write(work / "disk.bin", first["bytes"]))
            many.append(_files_write(work / "files", first["files"], first["bytes"]))
            exports.append(_export(work / "x10", work / "out", store))
    size = exports[0]["bytes"]
    disk_seconds = sum(disks) / len(disks)
    seconds = sum(e["seconds"] for e in exports) / len(exports)
    share = disk_seconds / seconds
    files_seconds = sum(many) / len(many)
    rows = [
        (
            "disk: sequential write + fsync (mean of 2)",
            f"{size / 1e9:.2f} GB",
            " / ".join(f"{d:.1f} s" for d in disks),
            f"{size / disk_seconds / 1e6:,.0f} MB/s",
            "",
        ),
        (
            "disk: as many plain file writes + sync (mean of 2)",
            f"{first['files']:,} files, {size / 1e9:.2f} GB",
            " / ".join(f"{d:.1f} s" for d in many),
            f"{size / files_seconds / 1e6:,.0f} MB/s",
            "",
        ),
        (
            "amr corpus export, moment-detr, x10 corpus (mean of 2)",
            f"{exports[0]['rows']:,} rows, {exports[0]['videos']:,} videos, {size / 1e9:.2f} GB",
            " / ".join(f"{e['seconds']:.1f} s" for e in exports),
            f"{exports[0]['rows'] / seconds:,.0f} rows/s = {size / seconds / 1e6:,.0f} MB/s",
            f"{share:.0%} of sequential, {files_seconds / seconds:.0%} of file writes · "
            f"peak RSS {max(e['peak_mb'] for e in exports):,.0f} MB",
        ),
        (
            "amr corpus export, moment-detr, x2 corpus",
            f"{small['rows']:,} rows, {small['bytes'] / 1e9:.2f} GB",
            f"{small['seconds']:.1f} s",
            f"{small['rows'] / small['seconds']:,.0f} rows/s",
            f"peak RSS {small['peak_mb']:,.0f} MB",
        ),
    ]
    headline = {
        "stage": "export: amr corpus export, moment-detr, 2816/512-d",
        "figure": f"{exports[0]['rows'] / seconds:,.0f} rows/s, {size / seconds / 1e6:,.0f} MB/s "
        f"({share:.0%} of a sequential write, {files_seconds / seconds:.0%} of plain file writes)",
        "comparison": "the same bytes written sequentially, and as many plain files",
        "peak_mb": max(e["peak_mb"] for e in exports),
        "peak_of": f"export child, x10 corpus (x2: {small['peak_mb']:,.0f} MB)",
    }
    return rows, headline
