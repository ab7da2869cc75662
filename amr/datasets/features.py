"""Read per-video and per-query feature files in the community layouts.

Video directories: ``{vid}.npz`` (key ``features``; Moment-DETR ``slowfast_features``,
``clip_features``) or ``{vid}.npy`` (AMR / R2-Tuning ``clip_b32_vid_k4``, (L, K, D) arrays are
flattened per clip). Text directories: ``qid{qid}.npz`` (key ``last_hidden_state``) or
``{qid}.npy``. Every matrix is L2-normalised per row (unless `normalize` is off: files that are
already normalised, such as an `amr corpus export`, then come back bit for bit); several video
sources are cut to the shortest length and concatenated along the feature axis. A source may
also be one HDF5 file holding an array per id (amr.datasets.hdf5).
"""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import numpy as np

from amr.errors import AmrError

# A video's fewest clips: with one clip, the only moment is the whole video, and a model's
# window on it would round to nothing. Imports and Predictor refuse shorter videos.
MIN_CLIPS = 2
VIDEO_CANDIDATES = (("{id}.npz", "features"), ("{id}.npy", None))
TEXT_CANDIDATES = (
    ("qid{id}.npz", "last_hidden_state"),
    ("{id}.npy", None),
    ("qid{id}.npy", None),
    ("{id}.npz", "last_hidden_state"),
)


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, eps)


# np.load parses every header with ast.literal_eval, which CPython 3.11.0-3.11.7 and
# 3.12.0-3.12.1 cannot run in two threads at once: a garbage collection inside it can raise a
# spurious "SystemError: AST constructor recursion depth mismatch" (python/cpython gh-106905).
# The importer loads files on a thread pool, so loads take turns; the checks still overlap.
# `make bench`'s import row is unchanged by it (2 cores: 470-500 videos/s before, 470-560 after).
_NUMPY_LOAD_LOCK = threading.Lock()


def load_matrix(path: Path, npz_key: str | None) -> np.ndarray:
    """Load one feature file as a finite float32 (rows, dim) matrix; never unpickles."""
    try:
        with _NUMPY_LOAD_LOCK:
            array = _load_array(path, npz_key)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise AmrError(f"{path}: unreadable feature file ({exc})") from None
    return checked_matrix(array, str(path))


def checked_matrix(array: np.ndarray, where: str) -> np.ndarray:
    """`array` as a finite float32 (rows, dim) matrix ((rows, K, dim) flattened per row), or
    an error naming `where`."""
    if array.ndim == 3:
        array = array.reshape(array.shape[0], -1)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise AmrError(
            f"{where}: expected a (rows, dim) or (rows, K, dim) array, got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise AmrError(f"{where}: features must be floating point, got {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise AmrError(f"{where}: features contain NaN or Inf")
    return array


def _load_array(path: Path, npz_key: str | None) -> np.ndarray:
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded
    with loaded:
        if npz_key is None or npz_key not in loaded.files:
            wanted = npz_key or "a plain .npy array"
            raise AmrError(f"{path}: no {wanted!r} in archive (has {', '.join(loaded.files)})")
        return loaded[npz_key]


class FeatureDirectory:
    """One directory of per-id feature files, all of one width."""

    def __init__(self, root: str | Path, kind: str, normalize: bool = True):
        self.root = Path(root)
        self.normalize = normalize
        if kind not in ("video", "text"):
            raise ValueError(kind)
        self.kind = kind
        self.dim: int | None = None
        self._first = ""  # the first file (or key) read, which fixed `dim`
        self._open()

    def _open(self) -> None:
        """Check the source is there (a subclass opens its own kind of source here)."""
        self.candidates = VIDEO_CANDIDATES if self.kind == "video" else TEXT_CANDIDATES
        if not self.root.is_dir():
            raise AmrError(f"{self.root}: {self.kind} feature directory not found")

    def locate(self, key: str | int) -> tuple[Path, str | None]:
        for pattern, npz_key in self.candidates:
            path = self.root / pattern.format(id=key)
            if path.is_file():
                return path, npz_key
        looked = ", ".join(pattern.format(id=key) for pattern, _ in self.candidates)
        what = "video" if self.kind == "video" else "query"
        raise AmrError(f"{self.root}: no features for {what} {key!r} (looked for {looked})")

    def load(self, key: str | int) -> np.ndarray:
        """The (L2-normalised) float32 matrix of `key`; its width must match the directory's."""
        path, npz_key = self.locate(key)
        return self._of_one_width(load_matrix(path, npz_key), str(path), path.name)

    def _of_one_width(self, matrix: np.ndarray, where: str, name: str) -> np.ndarray:
        """`matrix` (L2-normalised unless off) if it is as wide as the source's first one."""
        if self.dim is None:
            self.dim, self._first = matrix.shape[1], name
        elif matrix.shape[1] != self.dim:
            raise AmrError(
                f"{where}: feature dim {matrix.shape[1]} differs from {self.dim} of "
                f"{self._first} in the same {'file' if self.root.is_file() else 'directory'}"
            )
        return l2_normalize(matrix) if self.normalize else matrix


def load_video(sources: list[FeatureDirectory], vid: str) -> np.ndarray:
    """Concatenate a video's features from several sources, cut to the shortest length."""
    parts = [source.load(vid) for source in sources]
    length = min(part.shape[0] for part in parts)
    return np.concatenate([part[:length] for part in parts], axis=1)
