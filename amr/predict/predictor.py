"""`Predictor`: a trained model's moments for features in memory, one video and query or many.

    from amr import Predictor
    predictor = Predictor.from_checkpoint("runs/demo/distill")
    result = predictor.predict(video_features, text_features)   # (clips, dim), (tokens, dim)
    result.moments[0]    # Moment(start=12.0, end=30.0, score=0.8123), seconds, best first
    result.saliency      # one score per clip

`amr predict` runs the same code on a store split, so both give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amr.datasets.features import MIN_CLIPS
from amr.datasets.store import META_FILE
from amr.device import autocast, resolve_device
from amr.errors import AmrError
from amr.eval.submission import postprocess
from amr.ragged import offsets_of, padded
from amr.train.checkpoint import load_checkpoint, model_from_checkpoint
from amr.train.model import MomentDETR
from amr.train.spans import cw_to_se
from amr.train.text import MAX_WORDS
from amr.train.windows import Windows, plan_windows


@dataclass(frozen=True)
class Moment:
    """A predicted window in seconds, on the clip grid, with its score in [0, 1]."""

    start: float
    end: float
    score: float


@dataclass(frozen=True)
class Prediction:
    """One query's windows (best first) and one saliency score per clip."""

    moments: list[Moment]
    saliency: np.ndarray

    def to_record(self, qid: int | str, query: str, vid: str) -> dict[str, Any]:
        """The query's line in the QVHighlights submission format (what `amr predict` writes);
        `qid` as the dataset names it (an integer, or a string such as TACoS')."""
        return {
            "qid": qid if isinstance(qid, str) else int(qid),
            "query": query,
            "vid": vid,
            "pred_relevant_windows": [[m.start, m.end, m.score] for m in self.moments],
            "pred_saliency_scores": np.round(self.saliency.astype(np.float64), 4).tolist(),
        }


class Predictor:
    """A model ready to predict: baseline, cold-start and distill checkpoints alike (a stage-2
    model's Original and Active query sets are ranked together, as `amr predict` ranks them)."""

    def __init__(
        self,
        model: MomentDETR,
        clip_length: float,
        device: torch.device | str = "cpu",
        nms_threshold: float | None = None,
        batch_size: int = 64,
    ):
        if nms_threshold is not None and not 0.0 <= nms_threshold <= 1.0:
            raise AmrError(f"--nms must be an IoU in [0, 1], got {nms_threshold:g}")
        if clip_length <= 0:
            raise AmrError(f"clip_length must be positive, got {clip_length:g}")
        self.encoder: Any = None  # a ClipEncoder, for predict_video (from_checkpoint(encoder=))
        # How the training store's features were made, when amr made them (features extract).
        self.extractor: dict[str, Any] | None = None
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.clip_length = float(clip_length)
        self.nms_threshold = nms_threshold
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: str | Path,
        device: str = "auto",
        clip_length: float | None = None,
        nms_threshold: float | None = None,
        encoder: str | Path | None = None,
    ) -> Predictor:
        """A checkpoint file, or a run directory (its best.pt). The clip length comes from the
        run's corpus or store when not given. `encoder` (a CLIP model directory or cache name,
        the one `amr features extract` used) enables `predict_video`."""
        body = load_checkpoint(checkpoint)
        spec = json.loads(body["run_config"])
        trained_on = _training_store(spec)
        if clip_length is None:
            if trained_on is None:
                raise AmrError(
                    f"{checkpoint}: the run's store {spec.get('store')} is not here to say the "
                    "clip length; pass clip_length="
                )
            clip_length = float(trained_on["clip_length"])
        model = model_from_checkpoint(body)
        predictor = cls(model, clip_length, resolve_device(device), nms_threshold)
        predictor.extractor = _extractor_of(trained_on or {})
        if encoder is not None:
            from amr.features.clip import ClipEncoder

            predictor.encoder = ClipEncoder.load(encoder, str(predictor.device))
            dims = (predictor.encoder.video_dim, predictor.encoder.text_dim)
            if dims != (predictor.video_dim, predictor.text_dim):
                raise AmrError(
                    f"{encoder}: the encoder gives {dims[0]}/{dims[1]}-d features, the model "
                    f"takes {predictor.video_dim}/{predictor.text_dim}-d"
                )
        return predictor

    @property
    def video_dim(self) -> int:
        return self.model.config.video_dim

    @property
    def text_dim(self) -> int:
        return self.model.config.text_dim

    def predict(
        self,
        video_features: np.ndarray,
        text_features: np.ndarray,
        duration: float | None = None,
        top_k: int | None = 10,
    ) -> Prediction:
        """One query's moments in one video. `video_features` is (clips, video_dim) and
        `text_features` (tokens, text_dim); `duration` defaults to clips × clip length."""
        durations = None if duration is None else [duration]
        return self.predict_many([video_features], [text_features], durations, top_k)[0]

    def predict_video(
        self,
        video: str | Path,
        query: str,
        top_k: int | None = 10,
        frames_per_clip: int | None = None,
    ) -> Prediction:
        """One sentence in one video file, through the encoder given to from_checkpoint; the
        features are made as `amr features extract` made the training store's (frames per clip
        from its record, else 1)."""
        if self.encoder is None:
            made_by = (self.extractor or {}).get("model")
            hint = f" (the training store's features came from {made_by})" if made_by else ""
            raise AmrError(
                f"predict_video needs Predictor.from_checkpoint(..., encoder=CLIP_DIR){hint}"
            )
        if frames_per_clip is None:
            frames_per_clip = int((self.extractor or {}).get("frames_per_clip", 1))
        from amr.features.video import read_clip_frames

        clips = read_clip_frames(video, self.clip_length, frames_per_clip, self.encoder.image_size)
        features = self.encoder.clip_features(clips.frames, frames_per_clip)
        (words,) = self.encoder.encode_queries([query])
        return self.predict(features, words, clips.duration, top_k)

    def predict_many(
        self,
        videos: Sequence[np.ndarray],
        texts: Sequence[np.ndarray],
        durations: Sequence[float] | None = None,
        top_k: int | None = 10,
    ) -> list[Prediction]:
        """Many (video, query) pairs, in batches of `batch_size`."""
        if len(videos) != len(texts):
            raise AmrError(f"{len(videos)} videos but {len(texts)} queries")
        if durations is not None and len(durations) != len(videos):
            raise AmrError(f"{len(durations)} durations for {len(videos)} videos")
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise AmrError(f"top_k must be a whole number of at least 1 (or None), got {top_k!r}")
        for i, seconds in enumerate(durations if durations is not None else ()):
            if not (
                isinstance(seconds, (int, float, np.number))
                and np.isfinite(seconds)
                and seconds > 0
            ):
                raise AmrError(
                    f"video {i}: duration must be a positive number of seconds, got {seconds!r}"
                )
        results: list[Prediction] = []
        for start in range(0, len(videos), self.batch_size):
            stop = min(start + self.batch_size, len(videos))
            clips = [
                self._checked(videos[i], self.video_dim, f"video {i}", MIN_CLIPS)
                for i in range(start, stop)
            ]
            words = [
                self._checked(texts[i], self.text_dim, f"query {i}")[:MAX_WORDS]
                for i in range(start, stop)
            ]
            text, text_mask = padded(np.concatenate(words), np.array([len(w) for w in words]))
            if durations is None:
                seconds = np.array([len(c) for c in clips], np.float64) * self.clip_length
            else:
                seconds = np.asarray(durations[start:stop], dtype=np.float64)
            results.extend(self.predict_clips(clips, text, text_mask, seconds))
        return [_top(p, top_k) for p in results]

    def predict_clips(
        self,
        clips: Sequence[np.ndarray],
        text: np.ndarray,
        text_mask: np.ndarray,
        durations: np.ndarray,
    ) -> list[Prediction]:
        """Whole videos of any length: (clips, dim) float16 features each, with their queries
        padded, (B, tokens, dim) and (B, tokens) masks, and each video's duration in seconds.
        A video longer than the model is seen in windows of the model's length (overlapping by
        WINDOW_OVERLAP); their moments are mapped back to video time and ranked together, and a
        clip's saliency is the mean over the windows that see it. Every moment, none dropped."""
        n_clips = np.array([len(c) for c in clips], dtype=np.int64)
        plan = plan_windows(n_clips, self.model.config.max_clips)
        scores, spans, saliency = [], [], []
        for first in range(0, len(plan), self.batch_size):
            at = slice(first, first + self.batch_size)
            owner, offset, count = plan.owner[at], plan.offset[at], plan.count[at]
            cut = [clips[v][o : o + c] for v, o, c in zip(owner, offset, count, strict=True)]
            video, video_mask = padded(np.concatenate(cut), count)
            out = self._forward(video, video_mask, text[owner], text_mask[owner])
            scores.append(out[0])
            spans.append(out[1])
            saliency.extend(out[2][i, :c] for i, c in enumerate(count))
        # Window-relative spans to video seconds. A video that fits keeps its stated duration
        # as the span scale (as the model was trained); a window's scale is its own length.
        windowed = n_clips[plan.owner] > self.model.config.max_clips
        scale = np.where(windowed, plan.count * self.clip_length, durations[plan.owner])
        seconds = plan.offset[:, None, None] * self.clip_length
        seconds = seconds + np.concatenate(spans) * scale[:, None, None]
        flat_scores = np.concatenate(scores)
        per_video = np.bincount(plan.owner, minlength=len(clips))
        firsts = offsets_of(per_video)
        results: list[Prediction | None] = [None] * len(clips)
        for windows_each in np.unique(per_video):  # one batched post-processing per count
            videos = np.flatnonzero(per_video == windows_each)
            take = firsts[videos][:, None] + np.arange(windows_each)[None, :]
            found, ranked, keep = postprocess(
                seconds[take].reshape(len(videos), -1, 2),
                flat_scores[take].reshape(len(videos), -1),
                durations[videos],
                self.clip_length,
                self.nms_threshold,
            )
            for row, video in enumerate(videos):
                kept = zip(found[row, keep[row]], ranked[row, keep[row]], strict=True)
                moments = [Moment(float(s), float(e), float(p)) for (s, e), p in kept]
                mean = _mean_saliency(
                    saliency, range(firsts[video], firsts[video + 1]), plan, n_clips[video]
                )
                results[video] = Prediction(moments, mean)
        return results  # type: ignore[return-value]

    @torch.no_grad()
    def _forward(
        self, video: np.ndarray, video_mask: np.ndarray, text: np.ndarray, text_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One padded batch of windows: (scores (B, K), [start, end] spans (B, K, 2) in [0, 1]
        of the window, saliency (B, clips))."""
        inputs = [
            torch.from_numpy(np.ascontiguousarray(a)).to(self.device, non_blocking=True)
            for a in (video, video_mask, text, text_mask)
        ]
        with autocast(self.device):
            out = self.model(inputs[0].float(), inputs[1], inputs[2].float(), inputs[3])
        scores, spans = out.ranked_candidates(by_iou=self.model.config.rank_by_iou)
        spans = cw_to_se(spans.float()).clamp(0, 1).cpu().numpy()
        return scores.float().cpu().numpy(), spans, out.saliency.float().cpu().numpy()

    @staticmethod
    def _checked(features: np.ndarray, dim: int, what: str, fewest: int = 1) -> np.ndarray:
        """float16 (as the store and corpus hold features), or a clear error."""
        array = np.asarray(features)
        if array.ndim != 2 or array.shape[1] != dim:
            raise AmrError(f"{what}: features must be (n, {dim}), got {array.shape}")
        if len(array) == 0:
            raise AmrError(f"{what}: no features (0 rows)")
        if len(array) < fewest:
            raise AmrError(
                f"{what}: {len(array)} clip; a video needs at least {fewest} clips for a moment "
                "to be shorter than it"
            )
        if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(
            array.dtype, np.integer
        ):
            raise AmrError(f"{what}: features must be numbers, got {array.dtype}")
        with np.errstate(over="ignore"):  # past float16's range: inf, refused below
            array = array.astype(np.float16, copy=False)
        if not np.isfinite(array).all():
            raise AmrError(
                f"{what}: features hold NaN or infinite values (or pass float16's range)"
            )
        return array


def _mean_saliency(
    saliency: list[np.ndarray], windows: range, plan: Windows, n_clips: int
) -> np.ndarray:
    """A video's per-clip saliency: the mean over the windows that see each clip."""
    if len(windows) == 1:
        return saliency[windows[0]]
    total, seen = np.zeros(n_clips, np.float64), np.zeros(n_clips, np.int64)
    for w in windows:
        first, count = plan.offset[w], plan.count[w]
        total[first : first + count] += saliency[w]
        seen[first : first + count] += 1
    return (total / np.maximum(seen, 1)).astype(np.float32)


def _top(prediction: Prediction, top_k: int | None) -> Prediction:
    if top_k is None or len(prediction.moments) <= top_k:
        return prediction
    return Prediction(prediction.moments[:top_k], prediction.saliency)


def _training_store(spec: dict[str, Any]) -> dict[str, Any] | None:
    """What the run's training data says of its store (clip length, sources): the corpus
    manifest's source for a cold start, else the run's store.json if it is still there."""
    source = spec.get("corpus_source") or {}
    if "clip_length" in source:
        return source
    store_json = Path(spec["store"]) / META_FILE if spec.get("store") else None
    if store_json is not None and store_json.is_file():
        return json.loads(store_json.read_text(encoding="utf-8"))
    return None


def _extractor_of(trained_on: dict[str, Any]) -> dict[str, Any] | None:
    """The record `amr features extract` left in the training store, or None for features made
    elsewhere."""
    imports = trained_on.get("sources", {}).get("imports", [])
    made = [entry["extractor"] for entry in imports if "extractor" in entry]
    return made[-1] if made else None
