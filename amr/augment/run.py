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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from amr import __version__
from amr.augment.config import AugmentConfig, same_config
from amr.augment.difficulty import Ranking, rank_difficulty
from amr.augment.estimate import check_room, estimate
from amr.augment.generate import Generator
from amr.augment.manifest import (
    WORK_DIR,
    build_manifest,
    finalize,
    part_info,
    prepare_out,
    replacement,
)
from amr.augment.negative import nearest_queries
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
from amr.corpus.kinds import KINDS, augment_kind
from amr.corpus.parts import PartInfo, part_writer
from amr.corpus.recipe import compose_rows
from amr.corpus.schema import (
    COMPONENTS,
    CORPUS_FORMAT_VERSION,
    MANIFEST,
    corpus_schema,
    features_to_arrow,
    part_name,
)
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.fileio import swap_into_place, write_json
from amr.writer_lock import one_writer

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

    @property
    def lock_role(self) -> str:
        """Shards write one corpus together, each its own parts: each holds a lock of its own."""
        return "" if self.count == 1 else f".shard-{self.index}-of-{self.count}"


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
    already_done: bool = False  # --resume found the same corpus finished: nothing was written
    shard: Shard = Shard()
    shard_parts: int = 0  # the parts this shard owns
    rows_written: int = 0  # rows of the parts written by this run


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
    return part_info(path, part, config, ranking.difficulty[ids], writer.checksum, writer.labels)


# -- the command -----------------------------------------------------------------------------


def _finished(out: Path, store: Store, split: str, config: AugmentConfig) -> dict | None:
    """The manifest of a finished corpus at `out` made from this store, split and config
    (what --resume asks for, already there), else None."""
    if not (out / MANIFEST).is_file():
        return None
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    source = manifest.get("source", {})
    same = (
        manifest.get("format_version") == CORPUS_FORMAT_VERSION
        and source.get("fingerprint") == store.meta.fingerprint
        and source.get("split") == split
        and same_config(manifest.get("config"), config)
    )
    return manifest if same else None


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
    when None) and, for the negative kind, every query's nearest neighbours (cached in the store
    under `split`'s name when given)."""
    pool = build_pool(store, set(index.vids), pool_path, workers, show_progress)
    carrying = any(augment_kind(name).carries_negatives for name in config.kinds)
    if carrying and config.negatives == "nearest-query":
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
    stem = f"neighbours-centred-{split}-{config.negative_pool}-{config.negative_max_similarity!r}"
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


@one_writer(lambda call: (call["out"], call["shard"].lock_role))
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
    """Build the corpus of `split` at `out` (or this shard's parts of it). A corpus already at
    `out` is replaced (`overwrite`) only once the new one is complete."""
    started = time.perf_counter()
    out = target = Path(out)
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
    finished = _finished(out, store, split, config) if resume and shard.count == 1 else None
    if finished is not None:
        return AugmentSummary(
            out=out, rows=finished["rows"], kinds=finished["kinds"], parts_written=0,
            parts_skipped=len(finished["parts"]), bytes_written=0,
            seconds=time.perf_counter() - started, complete=True, already_done=True,
        )  # fmt: skip
    written = sum(p.stat().st_size for p in out.glob("part-*.parquet")) if resume else 0
    check_room(estimate(store, index, config, shard.count), out, written)
    replacing = shard.count == 1 and overwrite and (out / MANIFEST).is_file()
    if replacing:
        out = replacement(target, run_state, resume)
        prepare_out(out, run_state, shard.count, resume=True, overwrite=False)
    else:
        prepare_out(out, run_state, shard.count, resume, overwrite)

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
        p: part_info(
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
    manifest = build_manifest(
        store, split, config, ranking, kinds, [infos[p] for p in sorted(infos)]
    )
    if shard.count == 1:
        finalize(out, manifest)
        if replacing:
            swap_into_place(out, target)
    else:
        write_json(
            out / shard.file, {**manifest, "shard": [shard.index, shard.count], "n_parts": n_parts}
        )
    return AugmentSummary(
        out=target,
        rows=n,
        kinds=kinds,
        parts_written=len(todo),
        parts_skipped=len(existing),
        bytes_written=sum(infos[p].bytes for p in todo),
        seconds=time.perf_counter() - started,
        complete=shard.count == 1,
        shard=shard,
        shard_parts=len(mine),
        rows_written=sum(infos[p].rows for p in todo),
    )
