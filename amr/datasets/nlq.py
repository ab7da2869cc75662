"""Ego4D-NLQ's own annotation file (`nlq_train.json`, `nlq_val.json`): videos → clips →
annotations → language_queries, each query's window in `clip_start_sec`/`clip_end_sec`
(seconds in its clip). A clip is amr's video (its `clip_uid`), its length the duration, and a
query's id is `{annotation_uid}_{index}` (string ids, query_ids.py).

About 14 % of NLQ's windows are shorter than a clip, many of them zero. The rule (as UniVTG
trains on them): such a window is widened to one clip around its centre, kept inside the
video; the import summary counts them. A query without text is left out and counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amr.errors import AmrError


def nlq_records(
    path: Path, body: dict[str, Any], clip_length: float
) -> tuple[list[tuple[str, int, dict[str, Any]]], int]:
    """(location, ordinal, record) per query in the Moment-DETR form, and how many windows
    were widened to one clip."""
    records: list[tuple[str, int, dict[str, Any]]] = []
    widened = 0
    for v, video in enumerate(_list(body, "videos", f"{path}")):
        for c, clip in enumerate(_list(video, "clips", f"{path}: videos[{v}]")):
            at_clip = f"{path}: videos[{v}].clips[{c}]"
            clip_uid = _field(clip, "clip_uid", at_clip)
            duration = float(_field(clip, "clip_end_sec", at_clip)) - float(
                _field(clip, "clip_start_sec", at_clip)
            )
            for a, annotation in enumerate(_list(clip, "annotations", at_clip)):
                at_annotation = f"{at_clip}.annotations[{a}]"
                uid = _field(annotation, "annotation_uid", at_annotation)
                queries = _list(annotation, "language_queries", at_annotation)
                for q, query in enumerate(queries):
                    where = f"{at_annotation}.language_queries[{q}]"
                    text = query.get("query") if isinstance(query, dict) else None
                    if not isinstance(text, str) or not text.strip():
                        continue  # NLQ has queries without text: nothing to retrieve for
                    start = float(_field(query, "clip_start_sec", where))
                    end = float(_field(query, "clip_end_sec", where))
                    if end - start < clip_length:
                        centre = (start + end) / 2
                        start = max(0.0, min(centre - clip_length / 2, duration - clip_length))
                        end = min(duration, start + clip_length)
                        widened += 1
                    record = {"qid": f"{uid}_{q}", "query": text, "vid": clip_uid,
                              "duration": duration, "relevant_windows": [[start, end]]}  # fmt: skip
                    records.append((where, len(records) + 1, record))
    if not records:
        raise AmrError(f"{path}: no language queries with text in the file")
    return records, widened


def _list(parent: Any, key: str, where: str) -> list:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, list):
        raise AmrError(f"{where}: no {key!r} list (an Ego4D NLQ file nests videos → clips → "
                       "annotations → language_queries)")  # fmt: skip
    return value


def _field(parent: dict, key: str, where: str) -> Any:
    if key not in parent or parent[key] is None:
        raise AmrError(f"{where}: missing {key}")
    return parent[key]
