"""The `amr` command. Thin: every command parses options and calls a library function."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import rich_click as click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from amr import __version__
from amr.augment import (
    OPS,
    AugmentConfig,
    AugmentSummary,
    Shard,
    augment,
    materialize,
    merge,
    parse_weights,
)
from amr.console import stderr_console
from amr.corpus import Corpus, CorpusSummary, run_sql, summarize_corpus, verify
from amr.corpus.inspect import bar
from amr.datasets import (
    ImportConfig,
    ImportSummary,
    Store,
    StoreSummary,
    SynthConfig,
    default_annotations,
    import_dataset,
    summarize_store,
    synthesize,
)
from amr.datasets.importer import DATASETS
from amr.datasets.summary import Stats
from amr.datasets.synthetic import PRESETS
from amr.errors import AmrError
from amr.eval import DATASETS as DATASETS_EVAL
from amr.eval import evaluate, load_ground_truth, read_predictions
from amr.eval.submission import write_submission
from amr.experiment.arms import ARMS, DEFAULT_ARMS
from amr.experiment.budget import BUDGETS
from amr.fileio import write_json

click.rich_click.TEXT_MARKUP = "markdown"


class AmrGroup(click.RichGroup):
    """Reports a user mistake (AmrError) as one red line and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AmrError as exc:
            stderr_console().print(
                Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True
            )
            ctx.exit(1)


def _store_option(help: str, required: bool = False):
    """`--store STORE` (passed as `store_path`), which most commands take."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(path_type=Path),
        required=required,
        default=None,
        help=help,
    )


@click.group(cls=AmrGroup)
@click.version_option(__version__, prog_name="amr")
def cli() -> None:
    """**amr** — augmented moment retrieval (ICCV 2025) as a toolkit.

    Build a store from community formats (or synthesise one), augment it offline into a
    shareable Parquet corpus, and train a DETR-style model in two stages.
    """


@cli.group(cls=AmrGroup)
def datasets() -> None:
    """Read community formats into a store, synthesise stores, describe them."""


def _pairs(annotations: tuple[Path, ...], splits: tuple[str, ...]) -> list[tuple[str, Path]]:
    if len(annotations) != len(splits):
        raise click.UsageError(
            f"give one --split per --annotations ({len(annotations)} files, {len(splits)} splits)"
        )
    return list(zip(splits, annotations, strict=True))


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
    required=True,
    type=click.Path(path_type=Path),
    help="Directory of {vid}.npz / {vid}.npy files; repeat to concatenate sources.",
)
@click.option(
    "--text-features",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory of qid{qid}.npz / {qid}.npy files.",
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
    help="Seconds per feature clip [default: 2 for qvhighlights, 1 for charades].",
)
@click.option("--name", default=None, help="Store name [default: the dataset].")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def import_command(
    dataset, annotation_files, splits, video_features, text_features, out, clip_length, name, quiet
) -> None:
    """Import annotations and features into a store.

    Reads only the videos and queries the annotations reference. Each video source is
    L2-normalised per clip, cut to the shortest source and concatenated; text features are
    L2-normalised per token. Nothing at --out changes unless the whole import succeeds.
    """
    summary = import_dataset(
        ImportConfig(
            dataset=dataset,
            annotations=_pairs(annotation_files, splits),
            video_features=list(video_features),
            text_features=text_features,
            out=out,
            clip_length=clip_length,
            name=name,
        ),
        show_progress=not quiet,
    )
    _print_import(summary, out)


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
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default="demo",
    show_default=True,
    help="demo: template world sized for CPU; qvh / charades: real queries and labels "
    "from annotation files, synthetic features.",
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
@click.option("--seed", type=int, default=0, show_default=True)
@_knob("video_dim", "Video feature width (real QVHighlights: 2816).")
@_knob("text_dim", "Text feature width (real QVHighlights: 512).")
@_knob("feature_noise", "Per-clip semantic noise.")
@_knob("family_closeness", "Cosine between sibling verbs such as kick/throw.")
@_knob("boundary_softness", "Clips over which events fade in and out.")
@_knob("distractor_rate", "Chance of a sibling-verb hard negative per query.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it is already a store.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synth_command(out, preset, annotation_files, splits, seed, overwrite, quiet, **knobs) -> None:
    """Write a synthetic store to OUT (see docs/synthetic.md for the generative model).

    The same options and seed give byte-identical Parquet files.
    """
    try:
        config = SynthConfig.from_preset(preset, seed=seed, **knobs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    pairs = _pairs(annotation_files, splits) or default_annotations(preset)
    meta = synthesize(out, config, pairs, overwrite=overwrite, show_progress=not quiet)
    counts = ", ".join(f"{name} {info.queries} queries" for name, info in meta.splits.items())
    Console().print(
        f"wrote [bold]{out}[/] ({meta.name}: {counts}; {meta.fingerprint[:19]}…)", soft_wrap=True
    )


@datasets.command("info")
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info_command(store, as_json) -> None:
    """Summarise a store: splits, queries, videos, dims, moment lengths, windows per query."""
    summary = summarize_store(Store.open(store))
    if as_json:
        click.echo(json.dumps(asdict(summary), indent=2))
    else:
        _print_summary(summary)


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


def _print_import(summary: ImportSummary, out: Path) -> None:
    console = Console()
    table = Table(title=f"imported into {out}", title_justify="left")
    for column in ("split", "file", "queries", "videos", "labeled", "windows clamped"):
        table.add_column(column, justify="left" if column in ("split", "file") else "right")
    for split, report in summary.reports.items():
        table.add_row(
            split,
            report.path.name,
            str(report.queries),
            str(report.videos),
            "yes" if report.labeled else "no",
            str(report.clamped_windows),
        )
    console.print(table)
    console.print(
        f"read {summary.videos_read} video and {summary.queries_read} query feature files · "
        f"video dim {summary.meta.video_dim} · text dim {summary.meta.text_dim}"
    )
    if summary.clips_past_features:
        console.print(
            f"[yellow]note:[/] {summary.clips_past_features} relevant clip ids lie at or past "
            "their video's last feature clip (kept as annotated)"
        )


# -- augmentation ------------------------------------------------------------------------------


def _default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@cli.command("augment")
@_store_option("The store to augment.", required=True)
@click.option("--split", default="train", show_default=True, help="The split to augment.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Corpus directory.")
@click.option(
    "--multiplier",
    type=int,
    default=AugmentConfig.multiplier,
    show_default=True,
    help="Augmented samples per labeled real sample.",
)
@click.option(
    "--ops",
    default=",".join(OPS),
    show_default=True,
    help="Operators, cycled over each donor's samples.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--workers",
    type=int,
    default=_default_workers,
    show_default="CPU cores, ≤ 8",
    help="Processes. The corpus is byte-identical for any number.",
)
@click.option(
    "--shard",
    default="0/1",
    show_default=True,
    help="Write only shard K of N (parts K, K+N, …); finish with `amr corpus merge`.",
)
@click.option(
    "--recipes-only",
    is_flag=True,
    help="No features: a small corpus to share; `amr corpus materialize` re-creates them.",
)
@click.option("--resume", is_flag=True, help="Keep the parts an interrupted run completed.")
@click.option("--overwrite", is_flag=True, help="Replace a corpus at --out.")
@click.option(
    "--difficulty-weights",
    default="",
    metavar="NAME=W,…",
    help="Weights of the difficulty components (each 1 unless given): length_ratio, "
    "compression, n_windows, negative_similarity, boundary_contrast.",
)
@click.option(
    "--bins",
    type=int,
    default=AugmentConfig.curriculum_bins,
    show_default=True,
    help="Curriculum bins (equal-count).",
)
@click.option(
    "--part-rows",
    type=int,
    default=AugmentConfig.part_rows,
    show_default=True,
    help="Rows per part file.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def augment_command(
    store_path,
    split,
    out,
    multiplier,
    ops,
    seed,
    workers,
    shard,
    recipes_only,
    resume,
    overwrite,
    difficulty_weights,
    bins,
    part_rows,
    quiet,
) -> None:
    """Augment a split into a Parquet corpus (spliced clips, synthetic boundaries, hard negatives).

    Every real sample is kept as a row of kind `original`; every row gets difficulty components,
    a `difficulty` in [0, 1] and a `curriculum_bin`, and rows are written easiest first. Every
    random choice derives from (seed, sample id), so --workers, --shard and --resume never change
    the bytes.
    """
    if workers < 1:
        raise AmrError(f"--workers must be at least 1, got {workers}")
    config = AugmentConfig(
        multiplier=multiplier,
        ops=tuple(op.strip() for op in ops.split(",") if op.strip()),
        seed=seed,
        recipes_only=recipes_only,
        difficulty_weights=parse_weights(difficulty_weights),
        curriculum_bins=bins,
        part_rows=part_rows,
    )
    summary = augment(
        store_path,
        split,
        out,
        config,
        workers=workers,
        shard=Shard.parse(shard),
        resume=resume,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    _print_augment(summary)


def _print_augment(summary: AugmentSummary) -> None:
    kinds = ", ".join(f"{k} {v:,}" for k, v in summary.kinds.items())
    rate = summary.rows / summary.seconds if summary.complete else 0
    skipped = f", {summary.parts_skipped} kept from before" if summary.parts_skipped else ""
    Console().print(
        f"wrote [bold]{summary.out}[/]: {summary.rows:,} rows ({kinds}); "
        f"{summary.parts_written} parts{skipped}, {summary.bytes_written / 1e6:,.1f} MB "
        f"in {summary.seconds:.1f} s" + (f" ({rate:,.0f} rows/s)" if rate else ""),
        soft_wrap=True,
    )
    if not summary.complete:
        Console().print("this shard is done; when every shard is, run [bold]amr corpus merge[/]")


@cli.command("inspect")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option(
    "--sql",
    "query",
    default=None,
    help="Run this DuckDB query over the view `corpus` (and `samples` with --store).",
)
@_store_option("The source store, for the `samples` view.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows shown for --sql.")
def inspect_command(corpus, query, store_path, limit) -> None:
    """Summarise a corpus, or query it with SQL.

    Example: `amr inspect CORPUS --sql "SELECT kind, avg(difficulty) FROM corpus GROUP BY kind"`
    """
    opened = Corpus.open(corpus)
    if query is None:
        _print_corpus(opened, summarize_corpus(opened))
        return
    store = Store.open(store_path) if store_path else None
    names, rows = run_sql(opened, query, store, limit=limit)
    table = Table()
    for name in names:
        table.add_column(name, overflow="fold", min_width=min(len(name), 24))
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    Console().print(table)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


def _print_corpus(corpus: Corpus, summary: CorpusSummary) -> None:
    console = Console()
    source = summary.source
    console.print(
        f"[bold]{corpus.root}[/]: {summary.rows:,} rows in {summary.parts} parts, "
        f"{summary.bytes / 1e6:,.1f} MB"
        + (" (recipes only)" if summary.recipes_only else "")
        + f"\nfrom store {source['store']} split {source['split']} ({source['fingerprint'][:19]}…)",
        soft_wrap=True,
    )
    kinds = Table(title="rows per kind", title_justify="left")
    for column in ("kind", "rows", "mean difficulty", "windows per query"):
        kinds.add_column(column, justify="left" if column == "kind" else "right")
    for kind, rows, difficulty, windows in summary.kinds:
        kinds.add_row(kind, f"{rows:,}", f"{difficulty:.3f}", f"{windows:.2f}")
    console.print(kinds)
    histogram = Table(title="difficulty histogram", title_justify="left")
    histogram.add_column("difficulty")
    histogram.add_column("rows", justify="right")
    histogram.add_column("")
    largest = max(summary.histogram, default=0)
    for tenth, count in enumerate(summary.histogram):
        histogram.add_row(
            f"{tenth / 10:.1f}–{(tenth + 1) / 10:.1f}", f"{count:,}", bar(count, largest)
        )
    console.print(histogram)
    bins = Table(
        title="curriculum bins (moment = total labeled seconds per row)", title_justify="left"
    )
    for column in ("bin", "rows", "difficulty", "mean moment", "median moment"):
        bins.add_column(column, justify="right")
    for b, rows, low, high, mean, median in summary.bins:
        bins.add_row(
            str(b), f"{rows:,}", f"{low:.3f}–{high:.3f}", f"{mean:.1f} s", f"{median:.1f} s"
        )
    console.print(bins)


@cli.group(cls=AmrGroup)
def corpus() -> None:
    """Describe, check, join and materialise corpora."""


@corpus.command("info")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print manifest.json.")
def corpus_info_command(path, as_json) -> None:
    """What a corpus is: source, config, counts, parts."""
    opened = Corpus.open(path)
    if as_json:
        click.echo(json.dumps(opened.manifest, indent=2))
        return
    _print_corpus(opened, summarize_corpus(opened))
    config = opened.manifest["config"]
    Console().print(
        "config: " + ", ".join(f"{k}={v}" for k, v in config.items() if k != "difficulty_weights"),
        soft_wrap=True,
    )


@corpus.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@_store_option(
    "Also check the source fingerprint, that recipes name clips the store has, "
    "and that they reproduce the stored features."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def corpus_verify_command(path, store_path, quiet) -> None:
    """Check checksums, schema, labels (inside the duration) and recipes. Exit 1 on a problem."""
    report = verify(path, store_path, show_progress=not quiet)
    console = Console()
    if report.ok:
        checked = " and features recomposed from the store" if report.checked_features else ""
        console.print(f"[green]ok[/]: {report.parts} parts, {report.rows:,} rows{checked}")
        return
    err = stderr_console()
    for problem in report.problems:
        err.print(Text("problem: ", style="bold red") + Text(problem), soft_wrap=True)
    raise AmrError(f"{path}: {len(report.problems)} problem(s) found")


@corpus.command("merge")
@click.argument("out", type=click.Path(path_type=Path))
@click.argument("shard_dirs", nargs=-1, type=click.Path(path_type=Path))
def corpus_merge_command(out, shard_dirs) -> None:
    """Join the shards of `amr augment --shard K/N` into one corpus at OUT.

    Shards that wrote into OUT need no SHARD_DIRS; parts in other directories are copied in.
    The result is byte-identical to a single run.
    """
    merged = merge(out, list(shard_dirs))
    Console().print(f"merged [bold]{out}[/]: {merged.rows:,} rows in {len(merged.parts)} parts")


@corpus.command("materialize")
@click.argument("path", type=click.Path(path_type=Path))
@_store_option("Your copy of the source store (its fingerprint must match).", required=True)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The full corpus.")
@click.option("--workers", type=int, default=_default_workers, show_default="CPU cores, ≤ 8")
@click.option("--overwrite", is_flag=True, help="Replace a corpus at --out.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def corpus_materialize_command(path, store_path, out, workers, overwrite, quiet) -> None:
    """Re-create the features of a recipes-only corpus from the source store."""
    full = materialize(
        path, store_path, out, workers=workers, overwrite=overwrite, show_progress=not quiet
    )
    size = sum(p.bytes for p in full.parts) / 1e6
    Console().print(f"wrote [bold]{out}[/]: {full.rows:,} rows, {size:,.1f} MB")


@cli.command("eval")
@click.option(
    "--predictions",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path),
    help="Predictions in the QVHighlights submission format (JSON lines); repeat to compare "
    "runs side by side.",
)
@click.option(
    "--annotations",
    type=click.Path(path_type=Path),
    default=None,
    help="Ground truth: an annotation file (JSON lines), or use --store and --split.",
)
@_store_option("Ground truth: a store; with --split.")
@click.option("--split", default=None, help="The store split to evaluate against.")
@click.option(
    "--dataset",
    type=click.Choice(DATASETS_EVAL),
    default=None,
    help="Which metrics [default: qvhighlights when the ground truth has saliency scores, "
    "else charades].",
)
@click.option(
    "--clip-length",
    type=float,
    default=None,
    help="Seconds per clip, for saliency [default: the store's, or 2 for a file].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Metrics JSON [default: NAME_metrics.json beside PREDICTIONS NAME.jsonl].",
)
def eval_command(predictions, annotations, store_path, split, dataset, clip_length, out) -> None:
    """Score predictions with the standard metrics (same definitions, keys and rounding as the
    QVHighlights standalone evaluation; Charades-STA: R1/R5 at IoU 0.3/0.5/0.7 and mIoU).

    Prints a table and writes the metrics as JSON.
    """
    if out is not None and len(predictions) > 1:
        raise AmrError(
            "--out takes one predictions file; with several, each gets NAME_metrics.json"
        )
    truth = load_ground_truth(annotations, store_path, split, clip_length)
    results = []
    for path in predictions:
        result = evaluate(read_predictions(path), truth, dataset)
        target = out or path.with_name(f"{path.stem}_metrics.json")
        write_json(target, result)
        results.append((path, result, target))
    if len(results) == 1:
        _print_eval(results[0][1], results[0][2])
    else:
        _print_comparison(results)


def _print_comparison(results: list[tuple[Path, dict, Path]]) -> None:
    """One brief table, a column per predictions file (named by its run directory when the
    files share a name)."""
    stems = [path.stem for path, _, _ in results]
    names = stems if len(set(stems)) == len(stems) else [p.parent.name for p, _, _ in results]
    console = Console()
    info = results[0][1]["amr"]
    console.print(f"{info['dataset']}: {info['queries']:,} queries of {info['ground_truth']}")
    table = Table(title="brief", title_justify="left")
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for key in results[0][1]["brief"]:
        cells = [r["brief"].get(key) for _, r, _ in results]
        table.add_row(key, *("–" if c is None else f"{c:.2f}" for c in cells))
    console.print(table)
    for _, _, target in results:
        console.print(f"wrote [bold]{target}[/]", soft_wrap=True)


def _print_eval(result: dict, out: Path) -> None:
    info = result["amr"]
    console = Console()
    console.print(
        f"{info['dataset']}: {info['queries']:,} queries of {info['ground_truth']}", soft_wrap=True
    )
    table = Table(title="brief", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result["brief"].items():
        table.add_row(key, "–" if value is None else f"{value:.2f}")
    console.print(table)
    buckets = [k for k in ("short", "middle", "long", "full") if "MR-mAP" in result.get(k, {})]
    if buckets:
        table = Table(title="moment retrieval by moment length", title_justify="left")
        for column in ("moments", "queries", "mAP", "mAP@0.5", "mAP@0.75", "R1@0.5", "R1@0.7"):
            table.add_column(column, justify="left" if column == "moments" else "right")
        for name in buckets:
            block = result[name]
            cells = [
                block["MR-mAP"]["average"],
                block["MR-mAP"]["0.5"],
                block["MR-mAP"]["0.75"],
                block["MR-R1"]["0.5"],
                block["MR-R1"]["0.7"],
            ]
            table.add_row(
                name,
                f"{info[f'queries_{name}']:,}",
                *("–" if c is None else f"{c:.2f}" for c in cells),
            )
        console.print(table)
    fixes = [
        f"{info[key]:,} {text}"
        for key, text in (
            ("windows_past_10", "windows past the first 10 of a query ignored"),
            ("queries_not_sorted_by_score", "queries not listing windows best first (R1: first)"),
            ("saliency_cut", "saliency lists cut to the clip count"),
            ("saliency_padded", "saliency lists zero-padded to the clip count"),
        )
        if info.get(key)
    ]
    for line in fixes:
        console.print(f"[yellow]note[/]: {line}", soft_wrap=True)
    console.print(f"wrote [bold]{out}[/]", soft_wrap=True)


@cli.group(cls=AmrGroup)
def train() -> None:
    """Train the model: stage 1 (cold start on the augmented corpus) and the baseline."""


def _run_options(command):
    """The options every `amr train` command shares (applied bottom-up, listed top-down)."""
    options = [
        click.option(
            "--out", required=True, type=click.Path(path_type=Path), help="Run directory."
        ),
        click.option(
            "--val-split", default="val", show_default=True, help="Store split to validate on."
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            default=None,
            help="JSON with `model`, `train` (and for distill `distill`) settings; options below "
            "override `train`.",
        ),
        click.option("--epochs", type=int, default=None, help="[default: 30]"),
        click.option(
            "--max-samples",
            type=int,
            default=None,
            help="Stop once this many samples are trained on, mid-epoch if need be.",
        ),
        click.option("--batch-size", type=int, default=None, help="[default: 32]"),
        click.option("--lr", type=float, default=None, help="[default: 1e-4]"),
        click.option(
            "--device",
            type=click.Choice(["auto", "cpu", "cuda"]),
            default="auto",
            show_default=True,
            help="cuda trains with bf16 autocast.",
        ),
        click.option("--seed", type=int, default=None, help="[default: 0]"),
        click.option("--resume", is_flag=True, help="Continue the run in --out from last.pt."),
        click.option("--overwrite", is_flag=True, help="Replace a run directory at --out."),
        click.option("--quiet", is_flag=True, help="No progress display."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _train_config(config_file, defaults=None, **overrides):
    """(model options, TrainConfig): `defaults`, then --config, then the command line."""
    from amr.train.config import TrainConfig  # torch loads only for training

    model_options, from_file = _read_train_config(config_file)
    train_options = {**(defaults or {}), **from_file}
    overrides["val_split"] = overrides.get("val_split") or None
    train_options.update({k: v for k, v in overrides.items() if v is not None})
    return model_options, TrainConfig.from_json(train_options)


def _print_run(out: Path, summary) -> None:
    best = "–" if summary.best is None else f"{summary.best:.2f}"
    Console().print(
        f"trained [bold]{out}[/]: {summary.epochs} epochs, {summary.steps:,} steps, "
        f"{summary.samples_per_second:,.0f} samples/s; best val MR-full-R1@0.7 {best}",
        soft_wrap=True,
    )


@train.command("cold-start")
@click.option("--corpus", required=True, type=click.Path(path_type=Path), help="The corpus.")
@_store_option("The corpus's source store (text features, validation split).", required=True)
@_run_options
@click.option(
    "--pacing",
    type=click.Choice(["linear", "root", "step"]),
    default=None,
    help="How the pool grows: g(e) from --pacing-start to 1 [default: root].",
)
@click.option("--pacing-start", type=float, default=None, help="g(0) [default: 0.3].")
@click.option("--epochs-to-full", type=int, default=None, help="Epochs until g = 1 [default: 10].")
@click.option("--no-curriculum", is_flag=True, help="Draw every epoch from the whole corpus.")
@click.option("--include-original", is_flag=True, help="Also train on the real rows.")
@click.option(
    "--kinds",
    default=None,
    help="Comma-separated augmented kinds to read [default: splice,boundary,negative].",
)
def train_cold_start_command(
    corpus, store_path, out, config_file, resume, overwrite, quiet, no_curriculum,
    include_original, kinds, **overrides,
) -> None:  # fmt: skip
    """Stage 1: train on the corpus's augmented rows, easiest first (curriculum).

    Writes config.json, metrics.jsonl (loss terms and validation metrics per epoch), last.pt
    and best.pt (best validation MR-full-R1@0.7) into --out.
    """
    from amr.train.trainer import cold_start

    if no_curriculum:
        overrides["curriculum"] = False
    if include_original:
        overrides["include_original"] = True
    model_options, config = _train_config(config_file, **overrides)
    summary = cold_start(
        corpus, store_path, out, config, model_options, resume=resume, overwrite=overwrite,
        show_progress=not quiet, kinds=kinds and [k.strip() for k in kinds.split(",")],
    )  # fmt: skip
    _print_run(out, summary)


@train.command("baseline")
@_store_option("The store.", required=True)
@click.option("--split", default="train", show_default=True, help="The split to train on.")
@_run_options
def train_baseline_command(
    store_path, split, out, config_file, resume, overwrite, quiet, **overrides
) -> None:
    """The same model on the real split only (no augmentation, no curriculum): the reference
    every result is compared with."""
    from amr.train.trainer import baseline

    model_options, config = _train_config(config_file, **overrides)
    summary = baseline(
        store_path, split, out, config, model_options, resume=resume, overwrite=overwrite,
        show_progress=not quiet,
    )  # fmt: skip
    _print_run(out, summary)


@train.command("distill")
@click.option(
    "--init",
    "init",
    required=True,
    type=click.Path(path_type=Path),
    help="The cold-start run directory (its best.pt) or checkpoint.",
)
@click.option("--corpus", required=True, type=click.Path(path_type=Path), help="The corpus.")
@_store_option("The corpus's source store.", required=True)
@_run_options
@click.option("--no-curriculum", is_flag=True, help="Draw every epoch from all real rows.")
@click.option("--no-active-queries", is_flag=True, help="Ablation: no second query set.")
@click.option("--no-distill-loss", is_flag=True, help="Ablation: no distillation from stage 1.")
@click.option("--no-disc-loss", is_flag=True, help="Ablation: no discrimination loss.")
@click.option("--init-original-randomly", is_flag=True, help="Ablation: fresh Original Queries.")
@click.option(
    "--replay-fraction",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of each epoch's rows drawn from the augmented rows.",
)
def train_distill_command(
    init, corpus, store_path, out, config_file, resume, overwrite, quiet, no_curriculum,
    no_active_queries, no_distill_loss, no_disc_loss, init_original_randomly, replay_fraction,
    **overrides,
) -> None:  # fmt: skip
    """Stage 2: the corpus's real rows in curriculum order, with Original and Active Queries
    and distillation from the frozen cold-start model (always frozen)."""
    from amr.train.distill import DistillConfig
    from amr.train.trainer import distill

    if no_curriculum:
        overrides["curriculum"] = False
    from amr.train.trainer import DISTILL_DEFAULTS

    model_options, config = _train_config(config_file, DISTILL_DEFAULTS, **overrides)
    if model_options:
        raise AmrError("distill takes its model from --init; the config's `model` must be empty")
    options = {**_read_config(config_file).get("distill", {}), "replay_fraction": replay_fraction}
    if no_active_queries:
        options["active_queries"] = 0
    if no_distill_loss:
        options["distill"] = 0.0
    if no_disc_loss:
        options["discrimination"] = 0.0
    if init_original_randomly:
        options["init_original_randomly"] = True
    settings = DistillConfig.from_json(options)
    summary = distill(
        init, corpus, store_path, out, config, settings, resume=resume, overwrite=overwrite,
        show_progress=not quiet,
    )  # fmt: skip
    _print_run(out, summary)


def _read_config(path: Path | None) -> dict[str, dict]:
    """--config: an object with `model`, `train` and (stage 2) `distill` sections."""
    if path is None:
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AmrError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(body, dict) or set(body) - {"model", "train", "distill"}:
        raise AmrError(f"{path}: expected an object with `model`, `train` and/or `distill`")
    return {k: dict(v) for k, v in body.items()}


def _read_train_config(path: Path | None) -> tuple[dict, dict]:
    body = _read_config(path)
    return body.get("model", {}), body.get("train", {})


@cli.command("predict")
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(path_type=Path),
    help="A .pt file, or a run directory (its best.pt).",
)
@_store_option("The store holding the split.", required=True)
@click.option("--split", required=True, help="The split to predict.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Predictions .jsonl.")
@click.option("--nms", type=float, default=None, help="Temporal NMS IoU threshold [default: off].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
def predict_command(checkpoint, store_path, split, out, nms, device) -> None:
    """Write a model's predictions for a store split in the submission format."""
    from amr.train.predict import predict_checkpoint  # torch loads only for the model

    records = predict_checkpoint(checkpoint, store_path, split, nms, device)
    write_submission(out, records)
    Console().print(f"wrote [bold]{out}[/]: {len(records):,} queries", soft_wrap=True)


@cli.command("experiment")
@_store_option(
    "A store with labeled train and val splits (e.g. `datasets synth --preset qvh`).", required=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/experiment"),
    show_default=True,
    help="Experiment directory; rerun with the same one to continue an interrupted experiment.",
)
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds 0..N-1 per arm.")
@click.option(
    "--budget",
    type=click.Choice(list(BUDGETS)),
    default="small",
    show_default=True,
    help="small: a 128-d model, ~20 min per seed on 2 CPU cores at 128/64-d; "
    "full: the reference model and epochs, for a GPU.",
)
@click.option(
    "--arms",
    default=",".join(DEFAULT_ARMS),
    show_default=True,
    help=f"Comma-separated arms ({', '.join(a.name for a in ARMS)}); amr always runs.",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Augmentation workers and loader threads [default: cores, at most 4].",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
def experiment_command(store_path, out, seeds, budget, arms, device, workers, quiet) -> None:
    """Check the paper's claim: real data only vs augmented data only vs AMR's two stages,
    and the ablations (no curriculum, no hard negatives, no distillation loss, no Active
    Queries).

    Every arm trains the same model on the same number of samples (the AMR arm's) for each
    seed. Writes `results.md` (mean ± std over seeds of R1@0.5, R1@0.7, mAP, and by moment
    length), `curves.png`, `by_length.png` and `difficulty.png` into --out, and prints the
    table.
    """
    from amr.experiment import ExperimentConfig, run_experiment, terminal_table, write_report
    from amr.experiment.runner import default_workers

    config = ExperimentConfig(
        store=store_path,
        out=out,
        seeds=seeds,
        budget=budget,
        arms=tuple(a.strip() for a in arms.split(",") if a.strip()),
        device=device,
        workers=workers or default_workers(),
        show_progress=not quiet,
    )
    summaries = write_report(config, run_experiment(config))
    title = (
        f"val metrics, mean ± std over {seeds} seed{'s' if seeds > 1 else ''} ({out}/results.md)"
    )
    console = Console()
    if not console.is_terminal:
        console = Console(width=130)  # the table stays unwrapped in logs
    console.print(terminal_table(summaries, title))


def main() -> None:
    cli(prog_name="amr")


if __name__ == "__main__":
    main()
