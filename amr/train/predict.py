"""`amr predict`: a model's windows and saliency scores for a store split, as submission lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr.console import track
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.eval.submission import postprocess, submission_records
from amr.train.checkpoint import (
    check_model_fits_store,
    load_checkpoint,
    model_config_of,
    model_from_checkpoint,
)
from amr.train.device import autocast, resolve_device
from amr.train.model import MomentDETR
from amr.train.spans import cw_to_se
from amr.train.text import TextBank


def split_batches(
    store: Store, split: str, text: TextBank, batch_size: int, max_clips: int
) -> Iterator[dict[str, Any]]:
    """The split's queries in file order, batched like training batches (plus names)."""
    samples = store.samples(split)
    qids = samples.column("qid").to_numpy()
    vids = samples.column("vid").to_pylist()
    queries = samples.column("query").to_pylist()
    durations = samples.column("duration").to_numpy().astype(np.float64)
    dim = store.meta.video_dim
    for start in range(0, len(qids), batch_size):
        stop = min(start + batch_size, len(qids))
        clips = [store.video_features(v)[:max_clips] for v in vids[start:stop]]  # store lookups
        counts = np.asarray([len(c) for c in clips])
        video = np.zeros((stop - start, int(counts.max()), dim), dtype=np.float16)
        for i, c in enumerate(clips):
            video[i, : len(c)] = c
        words, words_mask = text.gather(qids[start:stop])
        yield {
            "video": torch.from_numpy(video),
            "video_mask": torch.from_numpy(np.arange(video.shape[1])[None, :] < counts[:, None]),
            "text": torch.from_numpy(words),
            "text_mask": torch.from_numpy(words_mask),
            "qid": qids[start:stop],
            "vid": vids[start:stop],
            "query": queries[start:stop],
            "duration": durations[start:stop],
        }


@torch.no_grad()
def predict_split(
    model: MomentDETR,
    store: Store,
    split: str,
    text: TextBank | None = None,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    nms_threshold: float | None = None,
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """Submission lines for every query of the split: windows (seconds, on the clip grid, best
    first) and one saliency score per clip."""
    model.eval()
    device = torch.device(device)
    if text is None:
        text = TextBank.from_store(store, store.samples(split).column("qid").to_numpy(), 32)
    records: list[dict[str, Any]] = []
    batches = split_batches(store, split, text, batch_size, model.config.max_clips)
    total = -(-store.samples(split).num_rows // batch_size)  # read once: the store caches it
    for batch in track(batches, total, f"predicting {split}", show_progress):
        inputs = [
            batch[k].to(device, non_blocking=True)
            for k in ("video", "video_mask", "text", "text_mask")
        ]
        with autocast(device):
            out = model(inputs[0].float(), inputs[1], inputs[2].float(), inputs[3])
        # Every query set's windows ranked together, by probability × predicted IoU.
        scores, spans = out.ranked_candidates(by_iou=model.config.rank_by_iou)
        scores = scores.cpu().numpy()
        spans = cw_to_se(spans.float()).clamp(0, 1).cpu().numpy()
        windows = spans * batch["duration"][:, None, None]
        windows, ranked, keep = postprocess(
            windows, scores, batch["duration"], store.meta.clip_length, nms_threshold
        )
        saliency = out.saliency.float().cpu().numpy()
        lengths = batch["video_mask"].sum(dim=1).numpy()
        records.extend(
            submission_records(
                batch["qid"],
                batch["query"],
                batch["vid"],
                windows,
                ranked,
                keep,
                (saliency[i, : lengths[i]] for i in range(len(lengths))),
            )
        )
    return records


def predict_checkpoint(
    checkpoint: str | Path,
    store: str | Path,
    split: str,
    nms_threshold: float | None = None,
    device: str = "auto",
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """Submission lines of a checkpoint (or a run directory's best.pt) for a store split."""
    if nms_threshold is not None and not 0.0 <= nms_threshold <= 1.0:
        raise AmrError(f"--nms must be an IoU in [0, 1], got {nms_threshold:g}")
    opened = Store.open(store)
    body = load_checkpoint(checkpoint)
    check_model_fits_store(model_config_of(body), opened, checkpoint)
    target = resolve_device(device)
    model = model_from_checkpoint(body).to(target)
    return predict_split(
        model, opened, split, device=target, nms_threshold=nms_threshold,
        show_progress=show_progress,
    )  # fmt: skip
