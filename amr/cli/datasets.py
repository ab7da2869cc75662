"""`amr datasets`: read community formats into a store, synthesise stores, describe them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import rich_click as click
from rich.console import Console
from rich.table import Table

from amr.cli.options import AmrGroup, Output, output_options, positional_moved, store_option
from amr.cli.stores import annotation_pairs, print_import, store_record
from amr.datasets import (
    ImportConfig,
    Store,
    StoreSummary,
    SynthConfig,
    default_annotations,
    import_dataset,
    summarize_store,
    synthesize,
)
from amr.datasets.importer import DATASETS
from amr.datasets.remine import remine_wrong_spans
from amr.datasets.subset import subset_store
from amr.datasets.summary import Stats
from amr.datasets.synthetic import PRESETS
from amr.datasets.wrong_spans import MiningConfig


@click.group(cls=AmrGroup)
def datasets() -> None:
    """Read community formats into a store, synthesise stores, describe them."""


@datasets.command("import")
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.option(
    "--annotations",
    "annotation_files",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="JSON-lines annotation file; repeat per split.",
)
@click.option(
    "--split",
    "splits",
    multiple=True,
    required=True,
    help="Split name for the --annotations at the same position (train, val, test…).",
)
@click.option(
    "--video-features",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Directory of {vid}.npz / {vid}.npy files, or an HDF5 file (.h5, .hdf5) of an array "
    "per vid; repeat to concatenate sources. [required]",
)
@click.option(
    "--text-features",
    type=click.Path(path_type=Path),
    help="Directory of qid{qid}.npz / {qid}.npy files, or an HDF5 file of an array per qid. "
    "[required]",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Store directory; if it is a store already, the splits are added to it.",
)
@click.option(
    "--clip-length",
    type=float,
    default=None,
    help="Seconds per feature clip [default: 2 for qvhighlights and activitynet, 1 for charades].",
)
@click.option("--name", default=None, help="Store name [default: the dataset].")
@click.option(
    "--no-normalize",
    is_flag=True,
    help="Keep the files' values instead of L2-normalising each row (for files normalised "
    "already, such as an `amr corpus export`: they then come back bit for bit).",
)
@output_options()
def import_command(
    dataset, annotation_files, splits, video_features, text_features, out, clip_length, name,
    no_normalize, output: Output,
) -> None:  # fmt: skip
    """Import annotations and features into a store.

    Reads only the videos and queries the annotations reference. Each video source is
    L2-normalised per clip, cut to the shortest source and concatenated; text features are
    L2-normalised per token. store.json records each source's folder name and width, in
    order, for `amr corpus export`. Nothing at --out changes unless the whole import succeeds.
    """
    needed = (("--video-features", video_features), ("--text-features", text_features))
    missing = [flag for flag, given in needed if not given]
    if missing:
        raise click.UsageError(
            f"Missing option {missing[0]!r}: the features to import. No features yet? "
            "`amr features extract` makes them from your videos with CLIP, and "
            "`amr datasets synth --preset qvh` makes a synthetic store to try amr on"
        )
    summary = import_dataset(
        ImportConfig(
            dataset=dataset,
            annotations=annotation_pairs(annotation_files, splits),
            video_features=list(video_features),
            text_features=text_features,
            out=out,
            clip_length=clip_length,
            name=name,
            normalize=not no_normalize,
        ),
        show_progress=output.progress,
    )
    reports = {
        split: {**asdict(report), "path": str(report.path)}
        for split, report in summary.reports.items()
    }
    output.result(
        {
            **store_record(out, summary.meta),
            "files": reports,
            "videos_read": summary.videos_read,
            "queries_read": summary.queries_read,
            "clips_past_features": summary.clips_past_features,
        },
        lambda: print_import(summary, out),
    )


def _knob(field: str, help: str):
    """A synth option for one SynthConfig field; None means "the preset's default"."""
    default = getattr(SynthConfig, field)
    return click.option(
        f"--{field.replace('_', '-')}",
        field,
        type=type(default),
        default=None,
        help=f"{help} [default: {default:g}]",
    )


@datasets.command("synth")
@click.option("--out", type=click.Path(path_type=Path), help="The store to write.")
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default="demo",
    show_default=True,
    help="demo: template world sized for CPU; control: a template world without the "
    "problems AMR targets; qvh / charades / activitynet / tacos / nlq: real queries, "
    "durations and labels from the dataset's annotation files (its clip length), synthetic "
    "features.",
)
@click.option(
    "--annotations",
    "annotation_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Real annotation file (repeat, one per --split) [default for qvh/charades: "
    "$AMR_DATA_DIR or ../shared/data].",
)
@click.option("--split", "splits", multiple=True, help="Split name for each --annotations.")
@click.option(
    "--real-test",
    is_flag=True,
    help="qvh: the test split from QVHighlights' published test labels "
    "(highlight_test_with_gt.jsonl, 1,541 queries) instead of a share of val's videos; val "
    "stays whole. Not the benchmark's registered world.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@_knob("video_dim", "Video feature width (real QVHighlights: 2816).")
@_knob("text_dim", "Text feature width (real QVHighlights: 512).")
@_knob("feature_noise", "Per-clip semantic noise.")
@_knob("family_closeness", "Cosine between sibling verbs such as kick/throw.")
@_knob("boundary_softness", "Clips over which events fade in and out.")
@_knob("distractor_rate", "Chance of a sibling-verb hard negative per query.")
@_knob("background_fill", "Share of the unqueried clips that other, unlabelled events fill.")
@_knob("cuts_per_minute", "Shot cuts per minute; the scene background jumps at each.")
@_knob("label_jitter", "Clips by which each labelled boundary may miss the true one.")
@_knob("test_share", "qvh/charades: share of val's videos that form the test split.")
@_knob("train_videos", "demo/control: videos in the train split.")
@_knob("val_videos", "demo/control: videos in the val split.")
@_knob("test_videos", "demo/control: videos in the test split.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it is already a store.")
@output_options()
@positional_moved("out", "--out")
def synth_command(
    out, preset, annotation_files, splits, real_test, seed, overwrite, output, **knobs
) -> None:
    """Write a synthetic store to --out (see docs/synthetic.md for the generative model).

    The same options and seed give byte-identical Parquet files.
    """
    try:
        config = SynthConfig.from_preset(preset, seed=seed, **knobs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    pairs = annotation_pairs(annotation_files, splits)
    if pairs and real_test:
        raise click.UsageError(
            "--real-test reads the preset's default files; with --annotations, give the test "
            "labels as one more: --annotations highlight_test_with_gt.jsonl --split test"
        )
    pairs = pairs or default_annotations(preset, real_test=real_test)
    meta = synthesize(out, config, pairs, overwrite=overwrite, show_progress=output.progress)
    output.result(store_record(out, meta), lambda: _print_synth(out, meta))


def _print_synth(out: Path, meta) -> None:
    counts = ", ".join(f"{name} {info.queries} queries" for name, info in meta.splits.items())
    Console().print(
        f"wrote [bold]{out}[/] ({meta.name}: {counts}; {meta.fingerprint[:19]}…)", soft_wrap=True
    )
    hits = meta.sources.get("twin_hits")
    if hits and hits["queries_with_twin"]:
        Console().print(
            f"mined wrong spans land on the hidden look-alike twin of {hits['mined_on_twin']:.0%} "
            f"of the {hits['queries_with_twin']:,} queries that have one (random spans: "
            f"{hits['random_on_twin']:.0%})",
            soft_wrap=True,
        )


@datasets.command("subset")
@store_option("The store to cut down.")
@click.option("--split", default="train", show_default=True, help="The split to cut down.")
@click.option(
    "--fraction",
    type=float,
    required=True,
    help="Share of the split's queries to keep (whole videos, so a little more), in (0, 1].",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Order in which videos are taken; one seed gives nested subsets.",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The new store.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it is already a store.")
@output_options()
@positional_moved("store_path", "--store")
def subset_command(store_path, split, fraction, seed, out, overwrite, output) -> None:
    """Write a copy of --store whose --split keeps --fraction of its queries.

    For one --seed the subsets are nested: the 10 % subset is inside the 25 % one. The other
    splits and the features are shared with --store (hard links where possible).
    """
    meta = subset_store(store_path, split, fraction, seed, out, overwrite=overwrite)
    info = meta.sources["subset"]
    output.result(
        store_record(out, meta),
        lambda: Console().print(
            f"wrote [bold]{out}[/] ({split}: {info['queries']:,} of {info['of_queries']:,} "
            f"queries, {meta.splits[split].videos:,} videos; {meta.fingerprint[:19]}…)",
            soft_wrap=True,
        ),
    )


@datasets.command("wrong-spans")
@store_option("The store; it is rewritten in place.")
@click.option(
    "--split", "splits", multiple=True, required=True, help="A labelled split; repeatable."
)
@click.option(
    "--per-query",
    type=int,
    default=MiningConfig.per_query,
    show_default=True,
    help="Wrong spans per query (fewer where the video has no room).",
)
@click.option(
    "--margin",
    type=int,
    default=MiningConfig.margin,
    show_default=True,
    help="Clips between a wrong span and any relevant window.",
)
@click.option(
    "--max-clips",
    type=int,
    default=MiningConfig.max_clips,
    show_default=True,
    help="The longest wrong span, in clips (each is as long as the query's windows).",
)
@output_options()
@positional_moved("store_path", "--store")
def wrong_spans_command(store_path, splits, per_query, margin, max_clips, output) -> None:
    """Mine each query's wrong spans again: spans of its own video, outside every relevant
    window by --margin clips, whose features look most like the moment's.

    Stores mine them when they are made (unless the annotation file gives `wrong_spans`);
    this recomputes them with other settings. The store's fingerprint changes.
    """
    config = MiningConfig(per_query=per_query, margin=margin, max_clips=max_clips)
    meta, reports = remine_wrong_spans(store_path, list(splits), config)

    def show() -> None:
        for r in reports:
            Console().print(
                f"{r.split}: {r.spans:,} wrong spans for {r.with_spans:,} of {r.queries:,} "
                f"labelled queries (at most {per_query} each, {margin} clip(s) from any window)",
                soft_wrap=True,
            )
        Console().print(f"wrote [bold]{store_path}[/] ({meta.fingerprint[:19]}…)", soft_wrap=True)

    output.result({**store_record(store_path, meta), "mined": [asdict(r) for r in reports]}, show)


@datasets.command("info")
@store_option("The store to describe.")
@output_options("Print nothing; the exit status says whether the store opens.")
@positional_moved("store_path", "--store")
def info_command(store_path, output) -> None:
    """Summarise a store: splits, queries, videos, dims, moment lengths, windows per query."""
    summary = summarize_store(Store.open(store_path))
    output.result(asdict(summary), lambda: _print_summary(summary))


def _stats(stats: Stats | None, unit: str = "") -> str:
    """mean, median, min–max"""
    if stats is None:
        return "—"
    return f"{stats.mean:.1f}{unit}, {stats.median:.1f}, {stats.min:g}–{stats.max:g}"


def _print_summary(summary: StoreSummary) -> None:
    console = Console()
    console.print(
        f"[bold]{summary.name}[/]  {summary.root}\n"
        f"clip length {summary.clip_length:g} s · video dim {summary.video_dim} · "
        f"text dim {summary.text_dim} · {summary.videos} videos · "
        f"{summary.queries_with_text} queries\n"
        f"clips per video {_stats(summary.clips_per_video)} (mean, median, range)\n"
        f"tokens per query {_stats(summary.tokens_per_query)}\n"
        f"fingerprint {summary.fingerprint}",
        soft_wrap=True,
    )
    table = Table(
        title="splits",
        title_justify="left",
        caption="times in seconds: mean, median, min–max",
        caption_justify="left",
    )
    table.add_column("")
    for split in summary.splits:
        table.add_column(split.name, justify="right")
    rows = {
        "queries": [str(s.queries) for s in summary.splits],
        "videos": [str(s.videos) for s in summary.splits],
        "labeled": ["yes" if s.labeled else "no" for s in summary.splits],
        "video duration": [_stats(s.duration) for s in summary.splits],
        "moment length": [_stats(s.moment_length) for s in summary.splits],
        "moments short ≤ 10 s": [str(s.length_buckets["short"]) for s in summary.splits],
        "moments middle 10–30 s": [str(s.length_buckets["middle"]) for s in summary.splits],
        "moments long > 30 s": [str(s.length_buckets["long"]) for s in summary.splits],
    }
    for key, label in (("0", "no window"), ("1", "1 window"), ("2", "2 windows"), ("3+", "3+")):
        rows[f"queries with {label}"] = [str(s.windows_per_query[key]) for s in summary.splits]
    for name, values in rows.items():
        table.add_row(name, *values)
    console.print(table)
