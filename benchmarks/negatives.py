"""How hard the pasted negatives are: for each way of making them, the mean cosine between a
corpus row's negative clips and its labelled clips (mean features of each, as composed in the
row), and the share of augmented rows that carry negatives. Demo store (synthetic), ×2 corpus.

    python -m benchmarks.negatives          # prints the table (a few seconds)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from amr.augment import AugmentConfig, augment
from amr.corpus import Corpus, features_from_arrow
from amr.datasets import Store, SynthConfig, synthesize
from benchmarks.scratch import scratch_dir

MODES = (
    ("same-video, every row (default)", {}),
    ("same-video, negative rows only", {"negatives_everywhere": False}),
    ("nearest-query", {"negatives": "nearest-query"}),
)


def negative_similarity(corpus: Path, clip_length: float) -> tuple[float, float, int]:
    """(mean cosine of negative to labelled clips, share of augmented rows with negatives,
    rows measured)."""
    opened = Corpus.open(corpus)
    cosines, augmented, carrying = [], 0, 0
    for path in opened.part_paths():
        table = pq.read_table(path, columns=["kind", "relevant_clip_ids", "negative_windows",
                                              "features"])  # fmt: skip
        flat, offsets = features_from_arrow(table.column("features"), opened.video_dim)
        rows = table.select(["kind", "relevant_clip_ids", "negative_windows"]).to_pylist()
        for i, row in enumerate(rows):
            if row["kind"] == "original":
                continue
            augmented += 1
            if not row["negative_windows"] or not row["relevant_clip_ids"]:
                continue
            carrying += 1
            clips = flat[offsets[i] : offsets[i + 1]].astype(np.float32)
            negative = [
                c
                for s, e in row["negative_windows"]
                for c in range(int(s / clip_length + 1e-6), int(np.ceil(e / clip_length - 1e-6)))
                if c < len(clips)
            ]
            a = clips[row["relevant_clip_ids"]].mean(0)
            b = clips[negative].mean(0)
            cosines.append(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)))
    return float(np.mean(cosines)), carrying / max(augmented, 1), carrying


def run() -> list[tuple[str, str, str, str]]:
    rows = []
    with scratch_dir("amr-negatives-") as tmp:
        store = Path(tmp) / "store"
        synthesize(store, SynthConfig.from_preset("demo", seed=0), show_progress=False)
        clip_length = Store.open(store).meta.clip_length
        base = AugmentConfig(multiplier=2, seed=0)
        for label, changes in MODES:
            out = Path(tmp) / label.replace(" ", "_").replace(",", "")
            augment(store, "train", out, replace(base, **changes), show_progress=False)
            cosine, share, measured = negative_similarity(out, clip_length)
            rows.append((label, f"{cosine:.3f}", f"{share:.0%}", f"{measured:,}"))
    return rows


def main() -> None:
    table = Table(
        title="pasted negatives vs the moment (demo store, synthetic, ×2 corpus)",
        title_justify="left",
    )
    for column in ("negatives", "mean cosine to the moment", "augmented rows with some", "rows"):
        table.add_column(column, justify="left" if column == "negatives" else "right")
    for row in run():
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
