"""`amr augment`, `amr inspect` and `amr corpus`: make a corpus, look into it, check, join and
materialise it."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import rich_click as click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from amr.augment import (
    NEGATIVES,
    AugmentConfig,
    AugmentSummary,
    Shard,
    augment,
    materialize,
    merge,
    parse_weights,
)
from amr.cli.options import (
    AmrGroup,
    Output,
    corpus_option,
    output_options,
    positional_moved,
    retired,
    store_option,
    workers_option,
)
from amr.console import stderr_console
from amr.corpus import Corpus, CorpusSummary, run_sql, summarize_corpus, verify
from amr.corpus.inspect import bar
from amr.corpus.kinds import AUGMENT_KINDS, AUGMENTED
from amr.datasets import (
    Store,
)
from amr.errors import AmrError

# -- augmentation ------------------------------------------------------------------------------


@click.command("augment")
@store_option("The store to augment.", required=True)
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
    "--kinds",
    default=",".join(AUGMENTED),
    show_default=True,
    help="Kinds of augmented rows, cycled over each donor's samples: "
    + "; ".join(f"{kind.name}: {kind.help}" for kind in AUGMENT_KINDS)
    + ". The corpus's `kind` column and `amr train cold-start --kinds` use the same names.",
)
@click.option("--ops", hidden=True, default=None, help="The old spelling of --kinds (refused).")
@click.option(
    "--negatives",
    type=click.Choice(NEGATIVES),
    default=AugmentConfig.negatives,
    show_default=True,
    help="What is pasted unlabelled beside the moment: the donor video's own wrong spans "
    "(same-video, as the reference) or windows of the donor's nearest other queries.",
)
@click.option(
    "--negatives-everywhere/--negatives-in-negative-rows",
    default=AugmentConfig.negatives_everywhere,
    show_default=True,
    help="same-video: every augmented row carries wrong spans (the reference), or only rows "
    "of kind negative.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@workers_option("Processes. The corpus is byte-identical for any number.")
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
@output_options()
def augment_command(
    store_path,
    split,
    out,
    multiplier,
    kinds,
    ops,
    negatives,
    negatives_everywhere,
    seed,
    workers,
    shard,
    recipes_only,
    resume,
    overwrite,
    difficulty_weights,
    bins,
    part_rows,
    output: Output,
) -> None:
    """Augment a split into a Parquet corpus (spliced clips, synthetic boundaries, hard negatives).

    Every real sample is kept as a row of kind `original`; every row gets difficulty components,
    a `difficulty` in [0, 1] and a `curriculum_bin`, and rows are written easiest first. Every
    random choice derives from (seed, sample id), so --workers, --shard and --resume never change
    the bytes.
    """
    if ops is not None:
        retired("--ops", f"--kinds {ops}")
    config = AugmentConfig(
        multiplier=multiplier,
        kinds=tuple(kind.strip() for kind in kinds.split(",") if kind.strip()),
        negatives=negatives,
        negatives_everywhere=negatives_everywhere,
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
        show_progress=output.progress,
    )
    output.result(asdict(summary), lambda: _print_augment(summary))


def _print_augment(summary: AugmentSummary) -> None:
    kinds = ", ".join(f"{k} {v:,}" for k, v in summary.kinds.items())
    if summary.already_done:
        Console().print(
            f"[bold]{summary.out}[/] is already finished with these settings ({summary.rows:,} "
            f"rows: {kinds}); nothing to do",
            soft_wrap=True,
        )
        return
    skipped = f", {summary.parts_skipped} kept from before" if summary.parts_skipped else ""
    size = f"{summary.bytes_written / 1e6:,.1f} MB in {summary.seconds:.1f} s"
    if not summary.complete:
        shard = summary.shard
        Console().print(
            f"shard {shard.index}/{shard.count}: wrote {summary.parts_written} of its "
            f"{summary.shard_parts} parts{skipped} ({summary.rows_written:,} rows, {size}) into "
            f"[bold]{summary.out}[/]; when every shard is done, run [bold]amr corpus merge[/]",
            soft_wrap=True,
        )
        return
    rate = summary.rows / summary.seconds
    Console().print(
        f"wrote [bold]{summary.out}[/]: {summary.rows:,} rows ({kinds}); "
        f"{summary.parts_written} parts{skipped}, {size} ({rate:,.0f} rows/s)",
        soft_wrap=True,
    )


@click.command("inspect")
@corpus_option("The corpus to look into.", required=False)
@click.option(
    "--sql",
    "query",
    default=None,
    help="Run this DuckDB query over the view `corpus` (and `samples` with --store).",
)
@store_option("The source store, for the `samples` view.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows shown for --sql.")
@output_options("Print nothing; the exit status says whether the corpus opens (and --sql runs).")
@positional_moved("corpus", "--corpus")
def inspect_command(corpus, query, store_path, limit, output) -> None:
    """Summarise a corpus, or query it with SQL.

    Example: `amr inspect --corpus C --sql "SELECT kind, avg(difficulty) FROM corpus GROUP BY kind"`
    """
    opened = Corpus.open(corpus)
    if query is None:
        summary = summarize_corpus(opened)
        output.result(asdict(summary), lambda: _print_corpus(opened, summary))
        return
    store = Store.open(store_path) if store_path else None
    names, rows = run_sql(opened, query, store, limit=limit)

    def show() -> None:
        if not sys.stdout.isatty():  # a file or a pipe: every value whole, one row a line
            lines = ["\t".join(names), *("\t".join(_plain(v) for v in row) for row in rows)]
            click.echo("\n".join(lines))
            return
        table = Table()
        for name in names:
            table.add_column(name, overflow="fold", min_width=min(len(name), 24))
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        Console().print(table)

    output.result({"columns": names, "rows": [list(row) for row in rows]}, show)


def _plain(value) -> str:
    """A value for tab-separated output: whole, with tabs and newlines escaped."""
    text = json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


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


@click.group(cls=AmrGroup)
def corpus() -> None:
    """Describe, check, join, materialise and export corpora."""


@corpus.command("info")
@corpus_option("The corpus to describe.", required=False)
@output_options("Print nothing; the exit status says whether the corpus opens.")
@positional_moved("corpus", "--corpus")
def corpus_info_command(corpus, output) -> None:
    """What a corpus is: source, config, counts, parts (--json: its manifest.json)."""
    opened = Corpus.open(corpus)

    def show() -> None:
        _print_corpus(opened, summarize_corpus(opened))
        config = AugmentConfig.from_json(opened.manifest["config"]).to_json()
        settings = ", ".join(f"{k}={v}" for k, v in config.items() if k != "difficulty_weights")
        Console().print("config: " + settings, soft_wrap=True)

    output.result(opened.manifest, show)


@corpus.command("verify")
@corpus_option("The corpus to check.", required=False)
@store_option(
    "Also check the source fingerprint, that recipes name clips the store has, "
    "and that they reproduce the stored features."
)
@output_options("No progress bar and no summary; problems still print.")
@positional_moved("corpus", "--corpus")
def corpus_verify_command(corpus, store_path, output) -> None:
    """Check checksums, schema, labels (inside the duration) and recipes. Exit 1 on a problem."""
    report = verify(corpus, store_path, show_progress=output.progress)
    if report.ok:
        checked = " and features recomposed from the store" if report.checked_features else ""
        output.result(
            {**asdict(report), "ok": True},
            lambda: Console().print(
                f"[green]ok[/]: {report.parts} parts, {report.rows:,} rows{checked}"
            ),
        )
        return
    if output.as_json:
        output.result({**asdict(report), "ok": False}, lambda: None)
    else:
        err = stderr_console()
        for problem in report.problems:
            err.print(Text("problem: ", style="bold red") + Text(problem), soft_wrap=True)
    raise AmrError(f"{corpus}: {len(report.problems)} problem(s) found")


@corpus.command("merge")
@click.option("--out", type=click.Path(path_type=Path), help="The corpus to finish.")
@click.argument("shard_dirs", nargs=-1, type=click.Path(path_type=Path))
@output_options()
def corpus_merge_command(out, shard_dirs, output) -> None:
    """Join the shards of `amr augment --shard K/N` into one corpus at --out.

    Shards that wrote into --out need no SHARD_DIRS; parts in other directories are copied in.
    The result is byte-identical to a single run.
    """
    if out is None:
        if not shard_dirs:
            raise click.UsageError("Missing option '--out'.")
        retired(f"'amr corpus merge {shard_dirs[0]}'", f"'amr corpus merge --out {shard_dirs[0]}'")
    merged = merge(out, list(shard_dirs))
    output.result(
        {"corpus": str(out), "rows": merged.rows, "parts": len(merged.parts)},
        lambda: Console().print(
            f"merged [bold]{out}[/]: {merged.rows:,} rows in {len(merged.parts)} parts"
        ),
    )


@corpus.command("materialize")
@corpus_option("The recipes-only corpus.", required=False)
@store_option("Your copy of the source store (its fingerprint must match).", required=True)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The full corpus.")
@workers_option()
@click.option("--overwrite", is_flag=True, help="Replace a corpus at --out.")
@output_options()
@positional_moved("corpus", "--corpus")
def corpus_materialize_command(corpus, store_path, out, workers, overwrite, output) -> None:
    """Re-create the features of a recipes-only corpus from the source store."""
    full = materialize(
        corpus, store_path, out, workers=workers, overwrite=overwrite, show_progress=output.progress
    )
    size = sum(p.bytes for p in full.parts)
    output.result(
        {"corpus": str(out), "rows": full.rows, "parts": len(full.parts), "bytes": size},
        lambda: Console().print(f"wrote [bold]{out}[/]: {full.rows:,} rows, {size / 1e6:,.1f} MB"),
    )
