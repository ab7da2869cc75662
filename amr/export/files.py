"""Per-video and per-query `.npz` files, as the field's loaders open them.

Each file is written under a temporary name and renamed into place, so a file that exists is
whole: a resumed export skips it. One video becomes one file per feature source, each holding
that source's columns of the store's concatenated matrix (the loaders L2-normalise each
folder on its own, so a joined folder would change their inputs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def write_npz(path: Path, **arrays: np.ndarray) -> int:
    """Write an uncompressed `.npz` atomically; return the feature bytes written."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return sum(a.nbytes for a in arrays.values())


@dataclass(frozen=True)
class SourceSlice:
    """One feature source: its folder and its columns in the store's matrix."""

    folder: Path
    start: int
    stop: int


class VideoFiles:
    """Writes each video once, one `{vid}.npz` (key `features`, float16) per source folder."""

    def __init__(self, slices: list[SourceSlice], resume: bool):
        self.slices = slices
        self.resume = resume
        self.written: set[str] = set()
        self.bytes = 0
        for piece in slices:
            piece.folder.mkdir(parents=True, exist_ok=True)

    def write(self, vid: str, features: np.ndarray) -> None:
        if vid in self.written:
            return
        self.written.add(vid)
        for piece in self.slices:
            path = piece.folder / f"{vid}.npz"
            if self.resume and path.is_file():
                continue
            columns = np.ascontiguousarray(features[:, piece.start : piece.stop], dtype="<f2")
            self.bytes += write_npz(path, features=columns)


class TextFiles:
    """Writes each query's tokens once: `last_hidden_state` (tokens × dim, float16) and
    `pooler_output`, the L2-normalised mean of the tokens (for loaders set to read it)."""

    def __init__(self, folder: Path, file_name: str, resume: bool):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.file_name = file_name
        self.resume = resume
        self.bytes = 0
        self.count = 0

    def write(self, qid: int, tokens: np.ndarray) -> None:
        path = self.folder / self.file_name.format(qid=qid)
        self.count += 1
        if self.resume and path.is_file():
            return
        mean = tokens.astype(np.float32).mean(axis=0)
        pooled = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float16)
        tokens = np.ascontiguousarray(tokens, dtype="<f2")
        self.bytes += write_npz(path, last_hidden_state=tokens, pooler_output=pooled)
