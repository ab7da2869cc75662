"""`amr corpus verify`: is this corpus what its manifest says, and are its labels possible?

A shared corpus is untrusted input. Every problem found is reported with its part, row and
sample id; nothing is read outside the corpus directory (part names are checked when the
manifest is parsed) and the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.console import track
from amr.corpus.labels import label_digest
from amr.corpus.reader import Corpus
from amr.corpus.recipe import check_recipe, compose
from amr.corpus.schema import corpus_schema, features_from_arrow, recipes_from_arrow
from amr.datasets.store import Store
from amr.datasets.wrong_spans import window_clips
from amr.errors import AmrError
from amr.fileio import file_matches

MAX_PROBLEMS = 50
EPS = 1e-3


@dataclass
class VerifyReport:
    parts: int = 0
    rows: int = 0
    checked_features: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    corpus_path: str | Path, store_path: str | Path | None = None, show_progress: bool = True
) -> VerifyReport:
    """Check checksums, schema, labels and recipes; with a store, also the source fingerprint,
    that every recipe names clips the store has, and that recipes reproduce stored features."""
    corpus = Corpus.open(corpus_path, check_parts=False)  # every problem is listed below
    report = VerifyReport(parts=len(corpus.parts))
    problems = report.problems
    store = Store.open(store_path) if store_path is not None else None
    if store is not None and store.meta.fingerprint != corpus.manifest["source"]["fingerprint"]:
        problems.append(
            f"{store.root}: store fingerprint {store.meta.fingerprint} is not the corpus's source "
            f"({corpus.manifest['source']['fingerprint']})"
        )
        store = None
    expected = corpus_schema(
        None if corpus.recipes_only else corpus.video_dim, corpus.format_version
    )
    previous_difficulty = -np.inf
    seen_ids: set[int] = set()
    for part in track(corpus.parts, len(corpus.parts), "verifying parts", show_progress):
        if len(problems) >= MAX_PROBLEMS:
            break
        path = corpus.root / part.file
        if path.is_symlink():
            problems.append(f"{part.file}: is a symbolic link (parts must be regular files)")
            continue
        if not path.is_file():
            problems.append(f"{part.file}: missing")
            continue
        if path.stat().st_size != part.bytes or not file_matches(path, part.checksum):
            problems.append(
                f"{part.file}: checksum does not match manifest.json (changed or corrupt)"
            )
            continue
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            problems.append(f"{part.file}: unreadable ({exc})")
            continue
        if _plain(table.schema) != _plain(expected):
            problems.append(f"{part.file}: columns differ from the corpus schema")
            continue
        if table.num_rows != part.rows:
            problems.append(f"{part.file}: {table.num_rows} rows, manifest says {part.rows}")
        if part.labels and label_digest(table) != part.labels:
            problems.append(
                f"{part.file}: label columns differ from manifest.json's digest (edited after "
                "the corpus was written)"
            )
        report.rows += table.num_rows
        difficulty = table.column("difficulty").to_numpy()
        if len(difficulty) and (
            difficulty[0] < previous_difficulty or np.any(np.diff(difficulty) < 0)
        ):
            problems.append(f"{part.file}: rows are not in difficulty order")
        if len(difficulty):
            previous_difficulty = float(difficulty[-1])
        _check_rows(part.file, table, store, corpus, seen_ids, problems)
        report.checked_features = report.checked_features or (
            store is not None and not corpus.recipes_only
        )
    listed = sum(part.rows for part in corpus.parts)
    if listed != corpus.rows and len(problems) < MAX_PROBLEMS:
        problems.append(f"manifest.json: says {corpus.rows} rows, its parts list {listed}")
    return report


def _plain(schema: pa.Schema) -> list[tuple[str, str]]:
    """Column names and types, ignoring list children's names (Parquet says "element")."""

    def plain(kind: pa.DataType) -> str:
        if pa.types.is_list(kind):
            return f"list<{plain(kind.value_type)}>"
        if pa.types.is_struct(kind):
            return "struct<" + ",".join(f"{f.name}:{plain(f.type)}" for f in kind) + ">"
        return str(kind)

    return [(field.name, plain(field.type)) for field in schema]


def _check_rows(
    name: str,
    table: pa.Table,
    store: Store | None,
    corpus: Corpus,
    seen_ids: set[int],
    problems: list[str],
) -> None:
    rows = table.select(
        [
            "sample_id",
            "duration",
            "n_clips",
            "relevant_windows",
            "relevant_clip_ids",
            "saliency_scores",
            "negative_windows",
        ]
    ).to_pylist()
    recipes = recipes_from_arrow(table.column("recipe"))
    features = None
    if "features" in table.column_names:
        try:
            features = features_from_arrow(table.column("features"), corpus.video_dim, f"{name} ")
        except AmrError as exc:
            problems.append(str(exc))
            return

    clip_length = float(corpus.manifest["source"]["clip_length"])

    def source_clips(vid: str) -> int | None:
        if store is None:
            return 1 << 30  # without the store, only the recipe's shape can be checked
        return store.n_clips(vid) if vid in store.videos else None

    for i, (row, recipe) in enumerate(zip(rows, recipes, strict=True)):
        if len(problems) >= MAX_PROBLEMS:
            return
        where = f"{name} row {i} (sample {row['sample_id']})"
        if row["sample_id"] in seen_ids:
            problems.append(f"{where}: sample_id appears twice")
        seen_ids.add(row["sample_id"])
        duration, n_clips = row["duration"], row["n_clips"]
        for key in ("relevant_windows", "negative_windows"):
            for start, end in row[key] or []:
                if not (0 <= start < end <= duration + EPS):
                    problems.append(f"{where}: {key} [{start}, {end}] outside (0, {duration:g}]")
        clip_ids = row["relevant_clip_ids"] or []
        if any(not 0 <= c < n_clips for c in clip_ids):
            problems.append(f"{where}: relevant_clip_ids outside the sample's {n_clips} clips")
        elif clip_ids:  # the clips the windows cover, as every store and corpus writes them
            spans = window_clips(row["relevant_windows"] or [], clip_length)
            covered = sorted({c for first, stop in spans for c in range(first, min(stop, n_clips))})
            if covered != sorted(clip_ids):
                problems.append(f"{where}: relevant_clip_ids do not match relevant_windows")
        if row["saliency_scores"] and len(row["saliency_scores"]) != len(clip_ids):
            problems.append(
                f"{where}: {len(row['saliency_scores'])} saliency rows for {len(clip_ids)} clips"
            )
        why = check_recipe(recipe, n_clips, source_clips)
        if why:
            problems.append(f"{where}: recipe: {why}")
            continue
        if features is not None:
            flat, offsets = features
            stored = flat[offsets[i] : offsets[i + 1]]
            if len(stored) != n_clips:
                problems.append(f"{where}: {len(stored)} feature clips, n_clips is {n_clips}")
            elif store is not None:
                try:
                    composed = compose(recipe, n_clips, store.video_features)
                except AmrError as exc:
                    problems.append(f"{where}: recipe: {exc}")
                    continue
                if not np.array_equal(composed.view(np.uint16), stored.view(np.uint16)):
                    problems.append(
                        f"{where}: features differ from what the recipe makes from the store"
                    )
