"""Read and validate a predictions file (the QVHighlights submission format, JSON lines).

Each line: ``qid``, ``pred_relevant_windows`` (``[start, end, score]``, best first) and, for
highlight detection, ``pred_saliency_scores`` (one score per clip). ``query`` and ``vid`` are
carried but not used. Predictions are untrusted: anything malformed is an error naming the line
and qid, never a silently wrong number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amr.datasets.annotations import read_json_lines
from amr.datasets.query_ids import query_code
from amr.errors import AmrError
from amr.ragged import offsets_of


@dataclass(frozen=True)
class Predictions:
    """One entry per line, in file order; windows and saliency flat, cut by their offsets."""

    path: Path
    qids: np.ndarray  # (P,) int64
    lines: np.ndarray  # (P,) the line each qid is on, for messages
    windows: np.ndarray  # (W, 3) float64: start, end, score, in the order listed
    window_offsets: np.ndarray  # (P + 1,)
    saliency: np.ndarray | None  # (S,) float64, or None when no line has saliency scores
    saliency_offsets: np.ndarray | None  # (P + 1,)

    def __len__(self) -> int:
        return len(self.qids)

    def where(self, index: int) -> str:
        return f"{self.path}:{self.lines[index]} (qid {self.qids[index]})"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_windows(raw: object, where: str) -> list:
    if not isinstance(raw, list) or not raw:
        raise AmrError(f"{where}: pred_relevant_windows must be a non-empty list")
    for i, window in enumerate(raw):
        if not (isinstance(window, list) and len(window) == 3 and all(map(_is_number, window))):
            raise AmrError(f"{where}: window {i} is not [start, end, score]: {window!r}")
        if not all(map(math.isfinite, window)):
            raise AmrError(f"{where}: window {i} has a non-finite value: {window!r}")
        if window[0] > window[1]:
            raise AmrError(f"{where}: window {i} starts after it ends: {window!r}")
    return raw


def _check_saliency(raw: object, where: str) -> list:
    if not isinstance(raw, list) or not all(map(_is_number, raw)):
        raise AmrError(f"{where}: pred_saliency_scores must be a list of numbers")
    if not raw:
        raise AmrError(f"{where}: pred_saliency_scores is empty")
    if not all(map(math.isfinite, raw)):
        raise AmrError(f"{where}: pred_saliency_scores has a non-finite value")
    return raw


def read_predictions(path: str | Path) -> Predictions:
    """Load and validate a predictions file. Blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise AmrError(f"{path}: predictions file not found")
    qids: list[int] = []
    lines: list[int] = []
    windows: list[list] = []
    saliency: list[list | None] = []
    for lineno, record in read_json_lines(path, ("pred_relevant_windows",)):
        where = f"{path}:{lineno} (qid {record['qid']})"
        windows.append(_check_windows(record["pred_relevant_windows"], where))
        scores = record.get("pred_saliency_scores")
        saliency.append(None if scores is None else _check_saliency(scores, where))
        qids.append(query_code(record["qid"]))
        lines.append(lineno)
    if not qids:
        raise AmrError(f"{path}: no predictions in file")
    return _assemble(path, qids, lines, windows, saliency)


def _assemble(
    path: Path, qids: list[int], lines: list[int], windows: list[list], saliency: list
) -> Predictions:
    """Checked lines → flat arrays. Saliency must be on every line or on none."""
    with_saliency = [s is not None for s in saliency]
    if any(with_saliency) and not all(with_saliency):
        first = with_saliency.index(False)
        raise AmrError(
            f"{path}:{lines[first]} (qid {qids[first]}): no pred_saliency_scores, which other "
            "lines have"
        )
    flat_saliency = saliency_offsets = None
    if all(with_saliency):
        counts = np.fromiter(map(len, saliency), dtype=np.int64, count=len(saliency))
        saliency_offsets = offsets_of(counts)
        flat_saliency = np.fromiter(
            (v for scores in saliency for v in scores),
            dtype=np.float64,
            count=int(saliency_offsets[-1]),
        )
    window_counts = np.fromiter(map(len, windows), dtype=np.int64, count=len(windows))
    return Predictions(
        path=path,
        qids=np.asarray(qids, dtype=np.int64),
        lines=np.asarray(lines, dtype=np.int64),
        windows=np.asarray([w for ws in windows for w in ws], dtype=np.float64).reshape(-1, 3),
        window_offsets=offsets_of(window_counts),
        saliency=flat_saliency,
        saliency_offsets=saliency_offsets,
    )


def predictions_from_records(records: list[dict], name: str = "<predictions>") -> Predictions:
    """Predictions held in memory (the lines a submission file would have), for evaluating a
    model without writing a file; checked as a file's lines are."""
    path = Path(name)
    if not records:
        raise AmrError(f"{name}: no predictions")
    windows, saliency = [], []
    for i, record in enumerate(records):
        where = f"{name}:{i + 1} (qid {record['qid']})"
        windows.append(_check_windows(record["pred_relevant_windows"], where))
        scores = record.get("pred_saliency_scores")
        saliency.append(None if scores is None else _check_saliency(scores, where))
    qids = [int(r["qid"]) for r in records]
    return _assemble(path, qids, list(range(1, len(records) + 1)), windows, saliency)
