"""Corpora from other corpora: `amr corpus merge` joins shard outputs, `amr corpus
materialize` gives a recipes-only corpus the features of the recipient's own store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.augment.config import AugmentConfig
from amr.augment.manifest import WORK_DIR, check_corpus_dir, finalize, ordered
from amr.augment.sources import build_pool, read_split
from amr.augment.workers import current_job, parallel_map
from amr.console import track
from amr.corpus.parts import PartInfo, part_writer
from amr.corpus.reader import Corpus
from amr.corpus.recipe import check_recipe, compose
from amr.corpus.schema import (
    CORPUS_FORMAT_VERSION,
    corpus_schema,
    features_entry,
    features_to_arrow,
    recipes_from_arrow,
)
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import atomic_copy, building_directory, file_matches
from amr.writer_lock import one_writer


@one_writer(lambda call: call["out"])
def merge(out: str | Path, sources: list[str | Path] = ()) -> Corpus:
    """Join shard outputs into one corpus at `out`, byte-identical to a single run.

    Shards may have written into `out` itself or into their own directories (`sources`); parts
    found elsewhere are copied in after their checksum is checked.
    """
    out = Path(out)
    dirs = [out, *map(Path, sources)]
    shard_files = sorted({p for d in dirs if d.is_dir() for p in d.glob("shard-*-of-*.json")})
    if not shard_files:
        raise AmrError(f"no shard-K-of-N.json in {', '.join(map(str, dirs))}: nothing to merge")
    bodies = []
    for path in shard_files:
        try:
            bodies.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except json.JSONDecodeError as exc:
            raise AmrError(f"{path}: malformed JSON ({exc})") from None
    first_path, first = bodies[0]
    common = {k: v for k, v in first.items() if k not in ("parts", "shard")}
    for path, body in bodies[1:]:
        if {k: v for k, v in body.items() if k not in ("parts", "shard")} != common:
            raise AmrError(
                f"{path}: from a different run than {first_path} (store, split or config differ)"
            )
    count = int(first["shard"][1])
    seen = {tuple(body["shard"]) for _, body in bodies}
    missing = [k for k in range(count) if (k, count) not in seen]
    if missing:
        raise AmrError(f"shard {missing[0]}/{count} is missing (found {len(seen)} of {count})")
    parts: dict[str, PartInfo] = {}
    for path, body in bodies:
        for entry in body["parts"]:
            info = PartInfo.from_json(entry, path)
            source = path.parent / info.file
            target = out / info.file
            if source.resolve() != target.resolve():
                if not source.is_file():
                    raise AmrError(f"{path}: lists {info.file}, which is not in {path.parent}")
                out.mkdir(parents=True, exist_ok=True)
                atomic_copy(source, target)
            if not file_matches(target, info.checksum):
                raise AmrError(f"{target}: checksum does not match {path}")
            parts[info.file] = info
    if len(parts) != int(first["n_parts"]):
        raise AmrError(f"shards list {len(parts)} parts of {first['n_parts']}")
    manifest = {k: v for k, v in first.items() if k not in ("shard", "n_parts", "parts")}
    manifest["parts"] = [parts[name].to_json() for name in sorted(parts)]
    finalize(out, ordered(manifest))
    for path, _ in bodies:
        if path.parent.resolve() == out.resolve():
            path.unlink()
    return Corpus.open(out)


@one_writer(lambda call: call["out"])
def materialize(
    corpus_path: str | Path,
    store_path: str | Path,
    out: str | Path,
    workers: int = 1,
    overwrite: bool = False,
    show_progress: bool = True,
) -> Corpus:
    """Turn a recipes-only corpus into a full one with the features of the recipient's store."""
    corpus = Corpus.open(corpus_path)
    if not corpus.recipes_only:
        raise AmrError(f"{corpus.root}: already has features; nothing to materialise")
    store = Store.open(store_path)
    expected = corpus.manifest["source"]["fingerprint"]
    if store.meta.fingerprint != expected:
        raise AmrError(
            f"{store.root}: fingerprint {store.meta.fingerprint} differs from the corpus's source "
            f"{expected}; this corpus was made from other features"
        )
    out = Path(out)
    if out.resolve() == corpus.root.resolve():
        raise AmrError("--out must differ from the recipes-only corpus")
    check_corpus_dir(out, overwrite)
    with building_directory(out) as staging:  # a corpus at `out` stays until this one is done
        _materialize_into(corpus, store, staging, workers, show_progress)
    return Corpus.open(out)


def _materialize_into(
    corpus: Corpus, store: Store, into: Path, workers: int, show_progress: bool
) -> None:
    config = AugmentConfig.from_json({**corpus.manifest["config"], "recipes_only": False})
    split = corpus.manifest["source"]["split"]
    index = read_split(store, split)
    (into / WORK_DIR).mkdir(parents=True, exist_ok=True)
    pool = build_pool(
        store, set(index.vids), into / WORK_DIR / "video-pool.f16", workers, show_progress
    )
    schema = corpus_schema(store.meta.video_dim)
    job = _MaterializeJob(corpus.root, into, pool, schema, config)
    parts = list(
        track(
            parallel_map(_materialize_part, corpus.parts, job, workers),
            len(corpus.parts),
            "materialising parts",
            show_progress,
        )
    )
    pool.close()
    manifest = dict(corpus.manifest)
    manifest["config"] = config.to_json()
    manifest["recipes_only"] = False
    manifest["features"] = features_entry(store.meta.video_dim)
    manifest["format_version"] = CORPUS_FORMAT_VERSION  # the parts are written in today's layout
    manifest["parts"] = [p.to_json() for p in parts]
    finalize(into, ordered(manifest))


@dataclass
class _MaterializeJob:
    source: Path
    out: Path
    pool: Any
    schema: pa.Schema
    config: AugmentConfig


def _materialize_part(part: PartInfo) -> PartInfo:
    job: _MaterializeJob = current_job()
    path = job.source / part.file
    if not file_matches(path, part.checksum):
        raise AmrError(f"{path}: checksum does not match the manifest")
    source = pq.ParquetFile(path)
    out_path = job.out / part.file
    recipe_schema = corpus_schema(None)
    with part_writer(out_path, job.schema) as writer:
        for group in range(source.num_row_groups):
            # Cast: Parquet names list children "element", Arrow "item"; schema bytes must match.
            table = source.read_row_group(group).cast(recipe_schema)
            recipes = recipes_from_arrow(table.column("recipe"))
            n_clips = table.column("n_clips").combine_chunks().to_numpy().astype(np.int64)
            offsets = np.concatenate([[0], np.cumsum(n_clips)])
            flat = np.empty((offsets[-1], job.pool.dim), dtype=np.float16)
            for row, recipe in enumerate(recipes):
                why = check_recipe(recipe, int(n_clips[row]), job.pool.n_clips)
                if why:
                    raise AmrError(f"{path}: row group {group} row {row}: recipe: {why}")
                compose(
                    recipe,
                    int(n_clips[row]),
                    job.pool.features,
                    out=flat[offsets[row] : offsets[row + 1]],
                )
            table = table.append_column(
                job.schema.field("features"), features_to_arrow(flat, offsets)
            )
            writer.write_table(table.replace_schema_metadata(job.schema.metadata))
    return PartInfo(
        part.file,
        part.rows,
        part.first_row,
        part.difficulty,
        out_path.stat().st_size,
        writer.checksum,
        writer.labels,
    )
