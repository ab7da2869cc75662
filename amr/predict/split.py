"""`amr predict`: a model's windows and saliency scores for a store split, as submission lines.
The numbers come from `Predictor` (amr.predict.predictor), fed the split in file order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from amr.console import track
from amr.datasets.query_ids import external_ids
from amr.datasets.store import Store
from amr.predict.predictor import Predictor
from amr.train.checkpoint import check_model_fits_store
from amr.train.model import MomentDETR
from amr.train.text import MAX_WORDS, TextBank


def split_batches(
    store: Store, split: str, text: TextBank, batch_size: int
) -> Iterator[dict[str, Any]]:
    """The split's queries in file order, in batches: whole videos, padded queries, names."""
    samples = store.samples(split)
    qids = samples.column("qid").to_numpy()
    vids = samples.column("vid").to_pylist()
    queries = samples.column("query").to_pylist()
    durations = samples.column("duration").to_numpy().astype(np.float64)
    for start in range(0, len(qids), batch_size):
        stop = min(start + batch_size, len(qids))
        words, words_mask = text.gather(qids[start:stop])
        yield {
            "clips": [store.video_features(v) for v in vids[start:stop]],  # store lookups
            "text": words,
            "text_mask": words_mask,
            "qid": external_ids(qids[start:stop], store.query_ids),  # as the files name them
            "vid": vids[start:stop],
            "query": queries[start:stop],
            "duration": durations[start:stop],
        }


def predict_split(
    model: MomentDETR | Predictor,
    store: Store,
    split: str,
    text: TextBank | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    nms_threshold: float | None = None,
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """Submission lines for every query of the split: windows (seconds, on the clip grid, best
    first) and one saliency score per clip, over the whole video however long."""
    predictor = model
    if not isinstance(predictor, Predictor):
        predictor = Predictor(model, store.meta.clip_length, device, nms_threshold, batch_size)
    if text is None:
        text = TextBank.from_store(store, store.samples(split).column("qid").to_numpy(), MAX_WORDS)
    records: list[dict[str, Any]] = []
    batches = split_batches(store, split, text, predictor.batch_size)
    total = -(-store.samples(split).num_rows // predictor.batch_size)  # cached by the store
    for batch in track(batches, total, f"predicting {split}", show_progress):
        predictions = predictor.predict_clips(
            batch["clips"], batch["text"], batch["text_mask"], batch["duration"]
        )
        records.extend(
            p.to_record(q, text, v)
            for p, q, text, v in zip(
                predictions, batch["qid"], batch["query"], batch["vid"], strict=True
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
    opened = Store.open(store)
    predictor = Predictor.from_checkpoint(
        checkpoint, device, opened.meta.clip_length, nms_threshold
    )  # the one load of the checkpoint
    check_model_fits_store(predictor.model.config, opened, checkpoint)
    return predict_split(predictor, opened, split, show_progress=show_progress)
