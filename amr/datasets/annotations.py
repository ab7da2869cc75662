"""Read QVHighlights-style JSON-lines annotations (QVHighlights, Charades-STA in that form).

Each line: ``qid``, ``query``, ``duration``, ``vid`` and, for labeled splits,
``relevant_windows`` ([start, end] seconds), ``relevant_clip_ids`` and ``saliency_scores``
(QVHighlights only), and optionally ``wrong_spans`` ([start, end] seconds of look-alike spans of
the same video, as AMR's reference data has; the store mines them when a file has none).
Unlabeled splits (QVHighlights test) have only the first four keys. A qid is unique per video;
it may come back on other videos with the same query (an `amr corpus export`'s augmented rows
share their source query's text features).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from amr.datasets.query_ids import check_query_id, query_code
from amr.datasets.schema import SAMPLES_SCHEMA
from amr.datasets.wrong_spans import overlapping_window, window_clips
from amr.errors import AmrError

REQUIRED_KEYS = ("qid", "query", "vid", "duration")


@dataclass(frozen=True)
class ReadReport:
    """What reading one file did beyond copying: users see it in the import summary."""

    path: Path
    queries: int
    videos: int
    labeled: bool
    clamped_windows: int
    stripped_queries: int = 0  # queries that had spaces around them
    widened_windows: int = 0  # Ego4D-NLQ: windows shorter than a clip, widened to one clip
    wrong_spans: bool = False  # the file gives wrong spans (else the store mines them)
    # a file of string ids: each one by its code (query_ids.py); empty for integer ids
    string_ids: dict[int, str] = field(default_factory=dict, repr=False)


def check_plain_name(vid: str, where: str) -> None:
    """A vid becomes a file name; refuse anything that could point outside a directory."""
    if not vid or vid in {".", ".."} or "/" in vid or "\\" in vid or "\0" in vid:
        raise AmrError(f"{where}: vid {vid!r} is not a plain file name")


def clip_ids_of_windows(windows: list[list[float]], clip_length: float) -> list[int]:
    """Clips that overlap any window ([i*L, (i+1)*L) meets [start, end)), sorted, unique."""
    ids: set[int] = set()
    for first, stop in window_clips(windows, clip_length):
        ids.update(range(first, stop))
    return sorted(ids)


def _number(value: object, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AmrError(f"{where}: {what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise AmrError(f"{where}: {what} is not finite ({value!r})")
    return float(value)


def _windows(
    raw: object, duration: float, clip_length: float, where: str
) -> tuple[list[list[float]], int]:
    """The windows, each ending by the duration: one that overruns it by up to a clip (a
    rounding of the clip grid) is clamped and counted; more is an error, never a silent cut."""
    if not isinstance(raw, list):
        raise AmrError(f"{where}: relevant_windows must be a list of [start, end]")
    windows, clamped = [], 0
    for window in raw:
        if not isinstance(window, list) or len(window) != 2:
            raise AmrError(f"{where}: window {window!r} is not [start, end]")
        start = _number(window[0], "window start", where)
        end = _number(window[1], "window end", where)
        if start < 0:
            raise AmrError(f"{where}: window {window!r} starts before 0")
        if start > end:
            raise AmrError(f"{where}: window {window!r} has start > end")
        if start >= duration:
            raise AmrError(f"{where}: window {window!r} starts at or after duration {duration:g}")
        if end > duration + clip_length + 1e-6:
            raise AmrError(
                f"{where}: window {window!r} ends {end - duration:g} s after the video's "
                f"duration {duration:g}, more than one clip ({clip_length:g} s)"
            )
        if end > duration:
            end, clamped = duration, clamped + 1
        windows.append([start, end])
    return windows, clamped


def _saliency(raw: object, n_clips: int, where: str) -> list[list[int]]:
    if not isinstance(raw, list) or len(raw) != n_clips:
        got = len(raw) if isinstance(raw, list) else raw
        raise AmrError(f"{where}: saliency_scores has {got} entries for {n_clips} relevant clips")
    try:
        scores = np.asarray(raw, dtype=np.int64)
    except (TypeError, ValueError):
        raise AmrError(f"{where}: saliency_scores must be lists of integers") from None
    if scores.size and (scores.ndim != 2 or scores.min() < 0 or scores.max() > 4):
        raise AmrError(f"{where}: saliency_scores must be per-clip lists of integers in 0..4")
    return scores.tolist()


def _wrong_spans(raw: object, windows: list, duration: float, where: str) -> list[list[float]]:
    if not isinstance(raw, list):
        raise AmrError(f"{where}: wrong_spans must be a list of [start, end]")
    spans = []
    for span in raw:
        if not isinstance(span, list) or len(span) != 2:
            raise AmrError(f"{where}: wrong span {span!r} is not [start, end]")
        start, end = (_number(v, "wrong span bound", where) for v in span)
        if not 0 <= start < end <= duration + 1e-6:
            raise AmrError(
                f"{where}: wrong span {span!r} is not inside the video (0 to {duration:g} s)"
            )
        window = overlapping_window([start, end], windows)
        if window is not None:
            raise AmrError(f"{where}: wrong span {span!r} overlaps relevant window {window!r}")
        spans.append([start, min(end, duration)])
    return spans


def read_json_lines(
    path: Path, required: tuple[str, ...] = (), unique_qids: bool = True
) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON-lines file whose objects each
    have a ``qid`` (an integer or a string, one kind in a file; unique in the file, with
    `unique_qids`) and the `required` keys. amr keeps `query_code(qid)` (query_ids.py)."""
    line_of_qid: dict[int | str, int] = {}
    kind_of_file: tuple[type, int] | None = None  # the first qid's type, and its line
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{path}:{lineno}"
            try:  # a byte-order mark at the start is allowed (some editors write one)
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise AmrError(
                    f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                    f"{exc.start + 1}); save the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AmrError(f"{where}: malformed JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise AmrError(f"{where}: expected a JSON object")
            missing = [key for key in ("qid", *required) if key not in record]
            if "qid" in missing:
                raise AmrError(f"{where}: missing {', '.join(dict.fromkeys(missing))}")
            qid = check_query_id(record["qid"], where)
            kind_of_file = kind_of_file or (type(qid), lineno)
            if type(qid) is not kind_of_file[0]:
                first = "an integer" if kind_of_file[0] is int else "a string"
                raise AmrError(
                    f"{where}: qid {qid!r} mixes integer and string ids (line {kind_of_file[1]} "
                    f"has {first} one); one kind per file"
                )
            where = f"{where} (qid {qid})"
            if missing:
                raise AmrError(f"{where}: missing {', '.join(missing)}")
            if unique_qids:
                if qid in line_of_qid:
                    raise AmrError(f"{where}: duplicate qid (first on line {line_of_qid[qid]})")
                line_of_qid[qid] = lineno
            yield lineno, record


def _check_repeat(
    first_use: dict[int, tuple[int, str, set[str]]],
    row: tuple[int, str, str],
    lineno: int,
    where: str,
) -> None:
    """A qid may come back on another video with the same query (an exported corpus's
    augmented rows reuse their source query and its text features); anything else is a
    duplicate."""
    qid, query, vid = row
    first, first_query, vids = first_use.setdefault(qid, (lineno, query, set()))
    if first_query != query:
        raise AmrError(f"{where}: duplicate qid with another query (first on line {first})")
    if vid in vids:
        raise AmrError(f"{where}: duplicate qid for video {vid!r} (first on line {first})")
    vids.add(vid)


def read_annotations(path: str | Path, clip_length: float) -> tuple[pa.Table, ReadReport]:
    """Validate and load one annotation file into a table of schema.SAMPLES_SCHEMA.

    Windows ending up to a clip past the duration are clamped (and counted), further is an
    error; spaces around a query are stripped (and counted); relevant_clip_ids are derived from
    the windows when the file has none (Charades-STA, TACoS, ActivityNet Captions).
    """
    path = Path(path)
    if not path.is_file():
        raise AmrError(f"{path}: annotation file not found")
    widened = 0
    nested = _nested_document(path)
    if nested is not None:  # Ego4D's own NLQ file: videos → clips → annotations → queries
        from amr.datasets.nlq import nlq_records

        records, widened = nlq_records(path, nested, clip_length)
    else:
        records = (
            (f"{path}:{lineno}", lineno, record)
            for lineno, record in read_json_lines(path, REQUIRED_KEYS, unique_qids=False)
        )
    table, report = _read_records(path, records, clip_length)
    return table, replace(report, widened_windows=widened)


def _nested_document(path: Path) -> dict | None:
    """The document of a `.json` file in Ego4D's nested NLQ form (one object with `videos`);
    None for JSON lines, whatever their suffix."""
    if path.suffix.lower() != ".json":
        return None
    try:  # JSON lines' first line is a whole record: the rest is for the line reader
        with open(path, encoding="utf-8-sig") as f:
            first = f.readline()
            body = json.loads(first)
    except (UnicodeDecodeError, json.JSONDecodeError):
        try:  # an indented document starts with a bare "{": read it whole
            body = json.loads(path.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None  # broken JSON, which the line reader names by line
    return body if isinstance(body, dict) and "videos" in body else None


def _read_records(
    path: Path, records: Iterable[tuple[str, int, dict]], clip_length: float
) -> tuple[pa.Table, ReadReport]:
    """(location, ordinal, record) → the samples table, checked."""
    rows: dict[str, list] = {name: [] for name in SAMPLES_SCHEMA.names}
    clamped, stripped, given_wrong_spans = 0, 0, False
    first_use: dict[int, tuple[int, str, set[str]]] = {}  # qid → (line, query, its vids)
    string_ids: dict[int, str] = {}
    for location, lineno, record in records:
        qid, vid, query = record["qid"], record["vid"], record["query"]
        where = f"{location} (qid {qid})"
        if isinstance(qid, str):
            string_ids[query_code(qid)] = qid
        if not isinstance(vid, str):
            raise AmrError(f"{where}: vid must be a string")
        check_plain_name(vid, where)
        if not isinstance(query, str) or not query.strip():
            raise AmrError(f"{where}: query must be a non-empty string")
        if query != query.strip():  # ActivityNet Captions' sentences often carry spaces
            query, stripped = query.strip(), stripped + 1
        _check_repeat(first_use, (qid, query, vid), lineno, where)
        duration = _number(record["duration"], "duration", where)
        if duration <= 0:
            raise AmrError(f"{where}: duration must be positive, got {duration:g}")
        windows, n_clamped = _windows(
            record.get("relevant_windows", []), duration, clip_length, where
        )
        clamped += n_clamped
        if "relevant_clip_ids" in record:
            clip_ids = record["relevant_clip_ids"]
            if not isinstance(clip_ids, list) or not all(
                isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in clip_ids
            ):
                raise AmrError(f"{where}: relevant_clip_ids must be non-negative integers")
        else:
            clip_ids = clip_ids_of_windows(windows, clip_length)
        saliency = (
            _saliency(record["saliency_scores"], len(clip_ids), where)
            if "saliency_scores" in record
            else []
        )
        wrong = []
        if "wrong_spans" in record:
            wrong = _wrong_spans(record["wrong_spans"], windows, duration, where)
            given_wrong_spans = True
        for name, value in zip(
            SAMPLES_SCHEMA.names,
            (query_code(qid), query, vid, duration, windows, clip_ids, saliency, wrong),
            strict=True,
        ):
            rows[name].append(value)
    if not rows["qid"]:
        raise AmrError(f"{path}: no annotations in file")
    table = pa.table(rows, schema=SAMPLES_SCHEMA)
    report = ReadReport(
        path=path,
        queries=table.num_rows,
        videos=len(set(rows["vid"])),
        labeled=any(rows["relevant_windows"]),
        clamped_windows=clamped,
        stripped_queries=stripped,
        wrong_spans=given_wrong_spans,
        string_ids=string_ids,
    )
    return table, report
