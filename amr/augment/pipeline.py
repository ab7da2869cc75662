"""`amr augment`: score every sample, order by difficulty, write parts — in parallel, resumably.

Two passes over sample ids, both pure functions of (store, config, seed, sample id):

1. scoring: generate the samples in batches (labels and recipes, no features) to get their
   difficulty components; rank them across the corpus (only ~40 bytes per sample are kept);
2. writing: part k holds the k-th `part_rows` samples in difficulty order; they are generated
   again (cheaper than keeping them), their features composed from the video pool one row
   group at a time, and the part is written atomically.

A part's bytes depend only on its index, so any --workers, any --shard K/N plus `amr corpus
merge`, and any --resume give the same corpus.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr import __version__
from amr.augment.card import write_card
from amr.augment.config import COMPONENTS, AugmentConfig
from amr.augment.corpus import (
    CORPUS_FORMAT,
    CORPUS_FORMAT_VERSION,
    KINDS,
    MANIFEST,
    Corpus,
    PartInfo,
    corpus_schema,
    features_entry,
    features_to_arrow,
    part_name,
    part_writer,
    recipes_from_arrow,
)
from amr.augment.difficulty import Ranking, rank_difficulty
from amr.augment.generate import Generator
from amr.augment.negative import nearest_queries
from amr.augment.recipe import check_recipe, compose, compose_rows
from amr.augment.sources import (
    SplitIndex,
    build_pool,
    load_cached,
    pooled_text,
    read_split,
    save_cached,
)
from amr.augment.workers import current_job, parallel_map
from amr.console import track
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import atomic_path, checksum_file, file_matches, write_json

WORK_DIR = ".amr-work"
SCORE_CHUNK = 2048


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        k, sep, n = text.partition("/")
        try:
            shard = cls(int(k), int(n))
        except ValueError:
            raise AmrError(f"--shard {text!r} is not K/N (e.g. 0/4)") from None
        if not sep or shard.count < 1 or not 0 <= shard.index < shard.count:
            raise AmrError(f"--shard {text!r}: need 0 <= K < N")
        return shard

    def owns(self, part: int) -> bool:
        return part % self.count == self.index

    @property
    def file(self) -> str:
        return f"shard-{self.index}-of-{self.count}.json"


@dataclass(frozen=True)
class AugmentSummary:
    out: Path
    rows: int
    kinds: dict[str, int]
    parts_written: int
    parts_skipped: int
    bytes_written: int
    seconds: float
    complete: bool  # False for a shard: `amr corpus merge` finishes the corpus


# -- worker side ---------------------------------------------------------------------------------
# A worker process holds one job (sent once, at fork) and turns id ranges or parts into results.


@dataclass
class _Job:
    generator: Generator
    out: Path
    ranking: Ranking | None = None  # None while scoring: the ranking is what scoring yields
    schema: pa.Schema | None = None


def _score(ids: range) -> np.ndarray:
    job: _Job = current_job()
    return job.generator.components(np.arange(ids.start, ids.stop))


def _write(part: int) -> PartInfo:
    job: _Job = current_job()
    assert job.ranking is not None and job.schema is not None
    return write_augmented_part(job.generator, job.ranking, job.schema, job.out, part)


def rows_table(
    generator: Generator, ids: np.ndarray, ranking: Ranking, schema: pa.Schema
) -> Iterator[pa.Table]:
    """The corpus rows of sample ids `ids`, in that order, one row group at a time (features,
    when `schema` has them, are composed for one row group at a time: that bounds memory)."""
    rows = generator.rows(ids)
    table = generator.table(rows)
    table = table.append_column(
        schema.field("difficulty"), pa.array(ranking.difficulty[ids], pa.float32())
    ).append_column(
        schema.field("curriculum_bin"), pa.array(ranking.curriculum_bin[ids], pa.int16())
    )
    step = generator.config.row_group_rows
    pastes = rows.pastes
    paste_offsets = np.searchsorted(pastes.owner, np.arange(0, len(ids) + step, step))
    clip_offsets = np.zeros(len(pastes.owner) + 1, dtype=np.int64)
    np.cumsum(pastes.clip_counts, out=clip_offsets[1:])
    for group, start in enumerate(range(0, len(ids), step)):
        piece = table.slice(start, step)
        if "features" in schema.names:
            first, stop = paste_offsets[group], paste_offsets[group + 1]
            clips = slice(clip_offsets[first], clip_offsets[stop])
            flat, offsets = compose_rows(
                rows.n_clips[start : start + step],
                pastes.owner[first:stop] - start,
                generator.pool_rows[pastes.video_row[first:stop]],
                pastes.target_start[first:stop],
                pastes.clip_counts[first:stop],
                pastes.clips[clips],
                pastes.faded[first:stop],
                pastes.alpha[clips],
                generator.pool.read_rows,
                generator.pool.dim,
            )
            piece = piece.append_column(schema.field("features"), features_to_arrow(flat, offsets))
        yield piece.select(schema.names).cast(schema)


def part_ids(ranking: Ranking, part: int, part_rows: int) -> np.ndarray:
    return ranking.order[part * part_rows : (part + 1) * part_rows]


def write_augmented_part(
    generator: Generator, ranking: Ranking, schema: pa.Schema, out: Path, part: int
) -> PartInfo:
    """Generate and write part `part`, one row group at a time."""
    config = generator.config
    ids = part_ids(ranking, part, config.part_rows)
    path = out / part_name(part)
    with part_writer(path, schema) as writer:
        for piece in rows_table(generator, ids, ranking, schema):
            writer.write_table(piece)
    return _part_info(path, part, config, ranking.difficulty[ids], writer.checksum)


def _part_info(
    path: Path, part: int, config: AugmentConfig, difficulty: np.ndarray, checksum: str = ""
) -> PartInfo:
    return PartInfo(
        file=path.name,
        rows=len(difficulty),
        first_row=part * config.part_rows,
        difficulty=(float(difficulty.min()), float(difficulty.max())),
        bytes=path.stat().st_size,
        checksum=checksum or checksum_file(path),
    )


# -- the command -----------------------------------------------------------------------------


def _prepare_out(out: Path, run_state: dict, shard: Shard, resume: bool, overwrite: bool) -> None:
    state_file = out / WORK_DIR / "run.json"
    if (out / MANIFEST).is_file():
        if not overwrite:
            raise AmrError(f"{out}: a corpus already exists; pass --overwrite to replace it")
        shutil.rmtree(out)
    elif state_file.is_file():
        previous = json.loads(state_file.read_text(encoding="utf-8"))
        if previous != run_state:
            if not overwrite:
                raise AmrError(
                    f"{out}: holds an unfinished run with a different store, split or config; "
                    "use another --out or pass --overwrite"
                )
            shutil.rmtree(out)
        elif overwrite and shard.count == 1:
            shutil.rmtree(out)
        elif not resume and shard.count == 1:
            raise AmrError(f"{out}: holds an unfinished run; pass --resume to finish it")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AmrError(f"{out}: exists and is not a corpus; refusing to write into it")
    (out / WORK_DIR).mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".part-*.tmp"):  # left by a killed run; never a complete part
        stale.unlink()
    if not state_file.is_file():
        write_json(state_file, run_state)


def make_generator(
    store: Store,
    index: SplitIndex,
    config: AugmentConfig,
    pool_path: Path | None,
    workers: int = 1,
    show_progress: bool = False,
    split: str | None = None,
) -> Generator:
    """Read what generation needs: the video pool (features at `pool_path`, or sketches only
    when None) and, for the negative op, every query's nearest neighbours (cached in the store
    under `split`'s name when given)."""
    pool = build_pool(store, set(index.vids), pool_path, workers, show_progress)
    if "negative" in config.ops:
        neighbours, similarity = split_neighbours(store, index, config, show_progress, split)
    else:
        neighbours = np.full((len(index), 0), -1, dtype=np.int64)
        similarity = np.zeros((len(index), 0), dtype=np.float32)
    return Generator(index, pool, config, neighbours, similarity)


def split_neighbours(
    store: Store,
    index: SplitIndex,
    config: AugmentConfig,
    show_progress: bool = False,
    split: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every query's nearest other queries (see negative.nearest_queries). They depend only on
    the store, the split and two options, so they are cached beside the sketches: a second run
    (another seed or multiplier) skips reading the text features and the n × n similarities."""
    stem = f"neighbours-{split}-{config.negative_pool}-{config.negative_max_similarity!r}"
    cached = load_cached(store, stem) if split else None
    if (
        cached
        and set(cached) == {"qids", "neighbours", "similarity"}
        and np.array_equal(cached["qids"], index.qids)
    ):
        return cached["neighbours"], cached["similarity"]
    pooled = pooled_text(store, index.qids, show_progress)
    neighbours, similarity = nearest_queries(
        pooled,
        index.queries,
        index.n_windows > 0,
        config.negative_pool,
        config.negative_max_similarity,
    )
    if split:
        save_cached(store, stem, qids=index.qids, neighbours=neighbours, similarity=similarity)
    return neighbours, similarity


def augment(
    store_path: str | Path,
    split: str,
    out: str | Path,
    config: AugmentConfig,
    workers: int = 1,
    shard: Shard = Shard(),
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool = True,
) -> AugmentSummary:
    """Build the corpus of `split` at `out` (or this shard's parts of it)."""
    started = time.perf_counter()
    out = Path(out)
    store = Store.open(store_path)
    index = read_split(store, split)
    if len(index.donors) == 0:
        raise AmrError(f"{store.root}: split {split!r} has no labeled sample to augment")
    run_state = {
        "store_fingerprint": store.meta.fingerprint,
        "split": split,
        "config": config.to_json(),
        "amr_version": __version__,
    }
    _prepare_out(out, run_state, shard, resume, overwrite)

    pool_path = None if config.recipes_only else out / WORK_DIR / "video-pool.f16"
    generator = make_generator(store, index, config, pool_path, workers, show_progress, split)
    pool = generator.pool

    n = generator.n_samples
    chunks = [range(s, min(s + SCORE_CHUNK, n)) for s in range(0, n, SCORE_CHUNK)]
    scoring = _Job(generator, out)
    scored = parallel_map(_score, chunks, scoring, workers)
    blocks = list(track(scored, len(chunks), "scoring samples", show_progress))
    values = np.concatenate(blocks) if blocks else np.zeros((0, len(COMPONENTS)))
    components = {name: values[:, i] for i, name in enumerate(COMPONENTS)}
    ranking = rank_difficulty(components, config.weights(), config.curriculum_bins)

    n_parts = -(-n // config.part_rows)
    mine = [p for p in range(n_parts) if shard.owns(p)]
    existing = {p for p in mine if (out / part_name(p)).is_file()}
    if existing and not resume:
        raise AmrError(f"{out}: {part_name(min(existing))} exists; pass --resume to keep it")
    todo = [p for p in mine if p not in existing]
    schema = corpus_schema(None if config.recipes_only else store.meta.video_dim)
    job = _Job(generator, out, ranking, schema)
    infos: dict[int, PartInfo] = {
        p: _part_info(
            out / part_name(p),
            p,
            config,
            ranking.difficulty[part_ids(ranking, p, config.part_rows)],
        )
        for p in sorted(existing)
    }
    for part, info in zip(
        todo,
        track(parallel_map(_write, todo, job, workers), len(todo), "writing parts", show_progress),
        strict=True,
    ):
        infos[part] = info
    pool.close()

    counts = np.bincount(generator.kinds(np.arange(n)), minlength=len(KINDS))
    kinds = {k: int(c) for k, c in zip(KINDS, counts, strict=True) if c}
    manifest = _manifest(store, split, config, ranking, kinds, [infos[p] for p in sorted(infos)])
    if shard.count == 1:
        _finalize(out, manifest)
    else:
        write_json(
            out / shard.file, {**manifest, "shard": [shard.index, shard.count], "n_parts": n_parts}
        )
    return AugmentSummary(
        out=out,
        rows=n,
        kinds=kinds,
        parts_written=len(todo),
        parts_skipped=len(existing),
        bytes_written=sum(infos[p].bytes for p in todo),
        seconds=time.perf_counter() - started,
        complete=shard.count == 1,
    )


def _manifest(
    store: Store,
    split: str,
    config: AugmentConfig,
    ranking: Ranking,
    kinds: dict[str, int],
    parts: list[PartInfo],
) -> dict[str, Any]:
    order_difficulty = ranking.difficulty[ranking.order]
    bins = config.curriculum_bins
    starts = [int(np.searchsorted(ranking.curriculum_bin[ranking.order], b)) for b in range(bins)]
    return {
        "format": CORPUS_FORMAT,
        "format_version": CORPUS_FORMAT_VERSION,
        "amr_version": __version__,
        "source": {
            "store": store.meta.name,
            "fingerprint": store.meta.fingerprint,
            "split": split,
            "queries": store.meta.splits[split].queries,
            "clip_length": store.meta.clip_length,
            "video_dim": store.meta.video_dim,
            "text_dim": store.meta.text_dim,
            "sources": store.meta.sources,
        },
        "config": config.to_json(),
        "recipes_only": config.recipes_only,
        "rows": len(ranking.order),
        "kinds": kinds,
        "features": None if config.recipes_only else features_entry(store.meta.video_dim),
        "difficulty": {
            "components": dict(COMPONENTS),
            "weights": config.weights(),
            "bins": bins,
            "bin_first_row": starts,
            "bin_min_difficulty": [
                float(order_difficulty[s]) if s < len(order_difficulty) else None for s in starts
            ],
        },
        "parts": [p.to_json() for p in parts],
    }


def _finalize(out: Path, manifest: dict[str, Any]) -> None:
    """Card, then manifest (the file that makes the directory a corpus), then drop the work dir."""
    write_card(out, manifest)
    write_json(out / MANIFEST, manifest)
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)


# -- merge and materialize -------------------------------------------------------------------


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
                with atomic_path(target) as tmp:
                    shutil.copyfile(source, tmp)
            if not file_matches(target, info.checksum):
                raise AmrError(f"{target}: checksum does not match {path}")
            parts[info.file] = info
    if len(parts) != int(first["n_parts"]):
        raise AmrError(f"shards list {len(parts)} parts of {first['n_parts']}")
    manifest = {k: v for k, v in first.items() if k not in ("shard", "n_parts", "parts")}
    manifest["parts"] = [parts[name].to_json() for name in sorted(parts)]
    keys = [k for k in _manifest_key_order() if k in manifest]
    manifest = {k: manifest[k] for k in keys}
    _finalize(out, manifest)
    for path, _ in bodies:
        if path.parent.resolve() == out.resolve():
            path.unlink()
    return Corpus.open(out)


def _manifest_key_order() -> list[str]:
    return [
        "format",
        "format_version",
        "amr_version",
        "source",
        "config",
        "recipes_only",
        "rows",
        "kinds",
        "features",
        "difficulty",
        "parts",
    ]


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
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not (out / MANIFEST).is_file() or not overwrite:
            raise AmrError(f"{out}: exists; pass --overwrite to replace a corpus there")
        shutil.rmtree(out)
    config = AugmentConfig.from_json({**corpus.manifest["config"], "recipes_only": False})
    split = corpus.manifest["source"]["split"]
    index = read_split(store, split)
    (out / WORK_DIR).mkdir(parents=True, exist_ok=True)
    pool = build_pool(
        store, set(index.vids), out / WORK_DIR / "video-pool.f16", workers, show_progress
    )
    schema = corpus_schema(store.meta.video_dim)
    job = _MaterializeJob(corpus.root, out, pool, schema, config)
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
    manifest["parts"] = [p.to_json() for p in parts]
    _finalize(out, {k: manifest[k] for k in _manifest_key_order() if k in manifest})
    return Corpus.open(out)


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
    )
