"""`amr features extract`: a store from videos and annotation files, through CLIP."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import rich_click as click
from rich.console import Console

from amr.cli.options import AmrGroup, Output, device_option, output_options, workers_option
from amr.cli.stores import annotation_pairs, print_import, store_record
from amr.datasets.importer import DATASETS


@click.group(cls=AmrGroup)
def features() -> None:
    """Features from your own videos (needs the video extra: pip install 'amr[video]')."""


@features.command("extract")
@click.option(
    "--videos",
    required=True,
    type=click.Path(path_type=Path),
    help="A directory of {vid}.mp4 (.mkv, .webm, …) files, or a file listing video paths "
    "(the file name's stem is the vid).",
)
@click.option(
    "--annotations", "annotation_files", multiple=True, required=True,
    type=click.Path(path_type=Path), help="JSON-lines annotation file; repeat per split.",
)  # fmt: skip
@click.option("--split", "splits", multiple=True, required=True, help="Split name per file.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The store to write.")
@click.option(
    "--model",
    default="openai/clip-vit-base-patch32",
    show_default=True,
    help="A CLIP model directory, or its name in your Hugging Face cache (nothing is downloaded).",
)
@click.option(
    "--dataset",
    type=click.Choice(sorted(DATASETS)),
    default="qvhighlights",
    show_default=True,
    help="The annotation format.",
)
@click.option("--clip-length", type=float, default=None, help="Seconds per clip [default: 2].")
@click.option(
    "--frames-per-clip", type=int, default=1, show_default=True,
    help="Frames sampled per clip (evenly spaced) and averaged.",
)  # fmt: skip
@device_option()
@click.option("--batch", type=int, default=64, show_default=True, help="Frames per encoder batch.")
@workers_option("Decoding threads.")
@click.option(
    "--also-npz", type=click.Path(path_type=Path), default=None,
    help="Keep the features here in the Moment-DETR layout (video/{vid}.npz, text/qid{qid}.npz).",
)  # fmt: skip
@click.option("--resume", is_flag=True, help="Keep the videos an earlier run finished.")
@output_options()
def extract_command(
    videos, annotation_files, splits, out, model, dataset, clip_length, frames_per_clip, device,
    batch, workers, also_npz, resume, output: Output,
) -> None:  # fmt: skip
    """Decode each video (PyAV), encode K frames per clip with a CLIP image encoder (pooled,
    L2-normalised, averaged per clip) and each query with the CLIP text encoder (token states,
    L2-normalised per token), and write a store as `amr datasets import` does."""
    from amr.features import ExtractConfig, extract_features

    config = ExtractConfig(
        videos=videos, annotations=annotation_pairs(annotation_files, splits), out=out, model=model,
        dataset=dataset, clip_length=clip_length, frames_per_clip=frames_per_clip,
        device=device, batch_size=batch, workers=workers, features_dir=also_npz, resume=resume,
    )  # fmt: skip
    summary = extract_features(config, show_progress=output.progress)
    if not summary.reports:
        output.result(
            {**store_record(out, summary.meta), "files": {}, "videos": 0},
            lambda: Console().print(
                f"[bold]{out}[/] already holds these splits; nothing to do", soft_wrap=True
            ),
        )
        return
    reports = {k: {**asdict(r), "path": str(r.path)} for k, r in summary.reports.items()}
    output.result(
        {**store_record(out, summary.meta), "files": reports, "videos": summary.videos_read},
        lambda: (print_import(summary, out), Console().print(f"features: CLIP {model}")),
    )


@features.command("tiny")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The directory.")
@click.option("--videos", "n_videos", type=int, default=6, show_default=True, help="mp4 files.")
@click.option("--seed", type=int, default=0, show_default=True)
@output_options()
def tiny_command(out, n_videos, seed, output: Output) -> None:
    """Write a tiny randomly initialised CLIP (OUT/clip), short synthetic mp4 files
    (OUT/videos) and their annotations (OUT/train.jsonl, OUT/val.jsonl): the whole
    `amr features extract` path in seconds on a CPU, with nothing downloaded. Its features mean
    nothing; use real CLIP weights from your Hugging Face cache for real work."""
    from amr.features.tiny import write_tiny_world

    if n_videos < 2:
        raise click.BadParameter("at least 2 (one for train, one for val)", param_hint="--videos")
    write_tiny_world(out, n_videos, seed)
    output.result(
        {"clip": str(out / "clip"), "videos": str(out / "videos"), "count": n_videos},
        lambda: Console().print(
            f"wrote [bold]{out}[/]: clip/ (a tiny random CLIP), videos/ ({n_videos} mp4 files), "
            "train.jsonl, val.jsonl",
            soft_wrap=True,
        ),
    )
