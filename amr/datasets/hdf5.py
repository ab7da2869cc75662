"""HDF5 feature inputs: one file holding an array per video or query, keyed by its id, as
UniVTG's whole-split caches (`data/{dataset}/h5py/{feature}.hdf5`) and MAD's per-movie frame
features keep them. Read lazily, one array at a time, so memory does not grow with the file.
Needs h5py (`pip install 'amr[hdf5]'`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amr.datasets.features import FeatureDirectory, checked_matrix
from amr.errors import AmrError

# The keys tried for an id, in order (a query's text also as `qid{id}`, the npz naming).
KEYS = {"video": ("{id}",), "text": ("{id}", "qid{id}")}


class HDF5Features(FeatureDirectory):
    """A FeatureDirectory whose files are the arrays of one HDF5 file."""

    def _open(self) -> None:
        try:
            import h5py
        except ImportError:
            raise AmrError(
                f"{self.root}: reading HDF5 features needs h5py: pip install 'amr[hdf5]'"
            ) from None
        if not self.root.is_file():
            raise AmrError(f"{self.root}: {self.kind} feature file not found")
        try:
            self._file = h5py.File(self.root, "r")
        except OSError as exc:
            raise AmrError(f"{self.root}: not a readable HDF5 file ({exc})") from None

    def load(self, key: str | int) -> np.ndarray:
        """The (L2-normalised) float32 matrix of `key`, read from the file alone."""
        import h5py

        name = next((k.format(id=key) for k in KEYS[self.kind] if k.format(id=key) in self._file),
                    None)  # fmt: skip
        what = "video" if self.kind == "video" else "query"
        if name is None:
            looked = ", ".join(k.format(id=key) for k in KEYS[self.kind])
            raise AmrError(f"{self.root}: no key for {what} {key!r} (looked for {looked})")
        dataset = self._file[name]
        if not isinstance(dataset, h5py.Dataset):
            raise AmrError(f"{self.root}: key {name!r} is a group, not an array")
        where = f"{self.root}[{name!r}]"
        return self._of_one_width(checked_matrix(dataset[()], where), where, repr(name))


def open_features(path: str | Path, kind: str, normalize: bool = True) -> FeatureDirectory:
    """A feature source: a directory of per-id files, or one HDF5 file of per-id arrays
    (`.h5`, `.hdf5`: UniVTG's caches, MAD's frame features; read lazily, amr.datasets.hdf5)."""
    if Path(path).suffix.lower() in HDF5_SUFFIXES:
        return HDF5Features(path, kind, normalize)
    return FeatureDirectory(path, kind, normalize)


HDF5_SUFFIXES = (".h5", ".hdf5")
