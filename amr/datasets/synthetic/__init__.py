"""`amr datasets synth`: stores whose features have the structure that makes retrieval hard.

See docs/synthetic.md for the generative model and what results on it do and do not mean.
"""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from amr.console import track
from amr.datasets.annotations import read_annotations
from amr.datasets.schema import SAMPLES_SCHEMA
from amr.datasets.store import META_FILE, FeatureSource, Store, StoreMeta, create_store
from amr.datasets.synthetic.annotated import annotated_videos
from amr.datasets.synthetic.config import PRESETS, TEMPLATE_PRESETS, SynthConfig
from amr.datasets.synthetic.diagnostics import twin_hits
from amr.datasets.synthetic.records import SynthQuery, SynthVideo
from amr.datasets.synthetic.templates import template_videos
from amr.datasets.synthetic.world import World, stable_hash
from amr.datasets.truth import TRUTH_FILE, TruthRow, write_truth
from amr.datasets.wrong_spans import MiningConfig
from amr.errors import AmrError
from amr.fileio import check_output_dir, sha256_file
from amr.writer_lock import one_writer

__all__ = ["PRESETS", "SynthConfig", "default_annotations", "make_world", "synthesize"]

TEXT_STREAM = 0x54455854  # "TEXT"
DEFAULT_ANNOTATIONS = {
    "qvh": (
        ("train", "qvhighlights/highlight_train_release.jsonl"),
        ("val", "qvhighlights/highlight_val_release.jsonl"),
    ),
    "charades": (
        ("train", "charades-sta/charades_sta_train_tvr_format.jsonl"),
        ("val", "charades-sta/charades_sta_val_tvr_format.jsonl"),
    ),
}

# A preset's published test labels: with `real_test`, the test split is these, not a carve of val.
REAL_TEST = {"qvh": ("test", "qvhighlights/highlight_test_with_gt.jsonl")}


def default_annotations(
    preset: str, data_dir: Path | None = None, real_test: bool = False
) -> list[tuple[str, Path]]:
    """The annotation files a preset reads when none are given: $AMR_DATA_DIR or ../shared/data.
    `real_test`: the test split too, from the dataset's published test labels (REAL_TEST)."""
    if real_test and preset not in REAL_TEST:
        known = ", ".join(REAL_TEST)
        raise AmrError(f"--real-test: preset {preset!r} has no published test labels ({known} has)")
    if preset in TEMPLATE_PRESETS:
        return []
    if preset not in DEFAULT_ANNOTATIONS:
        raise AmrError(
            f"preset {preset!r} shapes its world after an annotation file: pass --annotations "
            "FILE --split NAME (repeat per split)"
        )
    wanted_files = [*DEFAULT_ANNOTATIONS[preset], *([REAL_TEST[preset]] if real_test else [])]
    roots = [data_dir] if data_dir else []
    if "AMR_DATA_DIR" in os.environ:
        roots.append(Path(os.environ["AMR_DATA_DIR"]))
    roots.append(Path.cwd().parent / "shared" / "data")
    for root in roots:
        files = [(split, root / rel) for split, rel in wanted_files]
        if all(path.is_file() for _, path in files):
            return files
    wanted = ", ".join(rel for _, rel in wanted_files)
    raise AmrError(
        f"preset {preset!r} needs annotation files ({wanted}); pass --annotations FILE "
        "--split NAME or set AMR_DATA_DIR to the folder that holds them"
    )


def make_world(config: SynthConfig) -> World:
    return World(
        seed=config.seed,
        video_dim=config.video_dim,
        text_dim=config.text_dim,
        latent_dim=config.latent_dim,
        family_closeness=config.family_closeness,
        feature_noise=config.feature_noise,
        observation_noise=config.observation_noise,
        text_noise=config.text_noise,
        drift=config.drift,
    )


def _samples_table(queries: list[SynthQuery]) -> pa.Table:
    queries = sorted(queries, key=lambda q: q.order)
    return pa.table(
        {name: [getattr(q, name) for q in queries] for name in SAMPLES_SCHEMA.names},
        schema=SAMPLES_SCHEMA,
    )


@one_writer(lambda call: call["out"])
def synthesize(
    out: str | Path,
    config: SynthConfig,
    annotations: list[tuple[str, Path]] | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
) -> StoreMeta:
    """Write a synthetic store to `out`. The same config (and seed) gives byte-identical Parquet.

    With `annotations` ((split, file) pairs), the real queries, durations, windows and saliency of
    those files are kept and only the features are synthesised.
    """
    out = Path(out)
    check_output_dir(
        out, META_FILE, overwrite,
        refuse="exists and is not a store; refusing to overwrite it",
        replace="store exists; pass --overwrite to replace it",
    )  # fmt: skip
    world = make_world(config)
    sources: dict = {"kind": "synthetic", "config": asdict(config)}
    if annotations:
        tables, reports = {}, {}
        for split, path in annotations:
            if split in tables:
                raise AmrError(f"split {split!r} given twice")
            tables[split], reports[split] = read_annotations(path, config.clip_length)
        sources["annotations"] = [
            {"split": split, "file": Path(path).name, "sha256": sha256_file(Path(path))}
            for split, path in annotations
        ]
        tables = carve_test_split(tables, config.test_share)
        reports.setdefault("test", reports.get("val"))
        n_videos = len({v for t in tables.values() for v in t["vid"].to_pylist()})
        videos = annotated_videos(world, config, tables)
    else:
        tables, reports = None, {}
        plan = [
            ("train", config.train_videos),
            ("val", config.val_videos),
            ("test", config.test_videos),
        ]
        n_videos = sum(n for _, n in plan if n)
        videos = _template_splits(world, config, plan)
    meta = StoreMeta(
        name=f"synthetic-{config.preset}",
        clip_length=config.clip_length,
        video_dim=config.video_dim,
        text_dim=config.text_dim,
        sources=sources,
        # one source: every synthetic clip is L2-normalised over its whole width
        video_sources=(FeatureSource("synthetic", config.video_dim),),
        text_source=FeatureSource("synthetic_text", config.text_dim),
    )
    rows: dict[str, list[SynthQuery]] = {}
    twins: dict[int, list[list[float]]] = {}  # for the diagnostic below
    truth: list[TruthRow] = []
    with create_store(out, meta) as writer:
        for report in reports.values():  # string query ids (TACoS, NLQ) are written back out
            writer.query_ids.update(report.string_ids if report is not None else {})
        video: SynthVideo
        for video in track(videos, n_videos, "synthesising videos", show_progress):
            writer.videos.add(video.vid, video.features)
            for q in video.queries:
                rng = np.random.default_rng([config.seed, TEXT_STREAM, q.qid])
                writer.texts.add(q.qid, world.render_text(q.words, rng))
                rows.setdefault(q.split, []).append(q)
                twins[q.qid] = q.twins
                truth.append(TruthRow(q.split, q.qid, q.true_windows, q.twins))
        splits = tables or {split: _samples_table(qs) for split, qs in rows.items()}
        for split, table in splits.items():
            given = reports.get(split) is not None and reports[split].wrong_spans
            mine = None if given else MiningConfig()  # never the world's hidden twins
            writer.write_samples(split, table, source="synthetic", mine=mine)
        write_truth(writer.dir / TRUTH_FILE, truth)
    # How often the (blindly) mined wrong spans find the hidden twins: a store.json figure.
    store = Store.open(out)
    meta = replace(store.meta, sources={**store.meta.sources, "twin_hits": twin_hits(store, twins)})
    meta.write(out)  # the fingerprint covers only the Parquet
    return meta


def carve_test_split(tables: dict[str, pa.Table], share: float) -> dict[str, pa.Table]:
    """A labelled `test` split from `share` of the `val` split's videos (by a hash of the
    video id, so the rule needs no seed and keeps a video's queries together), when there is a
    labelled `val` split and no `test` one."""
    val = tables.get("val")
    if share <= 0 or val is None or "test" in tables or val.num_rows == 0:
        return tables
    if not pa.compute.sum(pa.compute.list_value_length(val["relevant_windows"])).as_py():
        return tables
    to_test = np.array(
        [
            stable_hash("test-split:" + vid) % 10_000 < share * 10_000
            for vid in val["vid"].to_pylist()
        ]
    )
    return {**tables, "val": val.filter(~to_test), "test": val.filter(to_test)}


def _template_splits(world: World, config: SynthConfig, plan: list[tuple[str, int]]):
    first_qid = 1
    for split_index, (split, n_videos) in enumerate(plan):
        count = 0
        for video in template_videos(world, config, split, split_index, n_videos, first_qid):
            count += len(video.queries)
            yield video
        first_qid += count
