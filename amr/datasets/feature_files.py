"""Feature matrices in Parquet, keyed by id: one row per video (or query) holding its
(n, dim) float16 matrix, written in row groups of about 1 MB so that one lookup decodes one
small row group. The store keeps its video and text features in two such files.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.datasets.schema import arrow_to_matrices, matrices_to_arrow
from amr.errors import AmrError

# Row groups of about this many feature bytes. Measured at 2816-d (make bench): 1 MB row groups
# give 9x the random lookups of 16 MB ones (298 vs 32 videos/s) for 17% less sequential speed.
ROW_GROUP_BYTES = 1 << 20


class FeatureTable:
    """Read-only id → matrix lookups over one features Parquet file, with a row-group cache."""

    def __init__(self, path: Path, key: str, count: str, dim: int, cache_bytes: int = 256 << 20):
        self.path = path
        self.dim = dim
        try:
            self._file = pq.ParquetFile(path)
            ids = self._file.read(columns=[key, count])
        except (OSError, pa.ArrowException) as exc:
            raise AmrError(f"{path}: unreadable Parquet file ({exc})") from None
        keys = ids.column(key).to_pylist()
        self.counts = np.asarray(ids.column(count).combine_chunks().to_numpy(), dtype=np.int64)
        group_rows = [
            self._file.metadata.row_group(i).num_rows for i in range(self._file.num_row_groups)
        ]
        group_of_row = np.repeat(np.arange(len(group_rows)), group_rows)
        group_start = np.concatenate([[0], np.cumsum(group_rows)[:-1]]).astype(np.int64)
        self._where = {
            k: (int(g), int(r - group_start[g]), int(r))
            for r, (k, g) in enumerate(zip(keys, group_of_row, strict=True))
        }
        if len(self._where) != len(keys):
            raise AmrError(f"{path}: duplicate ids in column {key!r}")
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __len__(self) -> int:
        return len(self._where)

    def keys(self) -> Iterable[Any]:
        return self._where.keys()

    def count(self, key: Any) -> int:
        return int(self.counts[self._where[key][2]])

    def _group(self, group: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if group in self._cache:
                self._cache.move_to_end(group)
                return self._cache[group]
            try:
                column = self._file.read_row_group(group, columns=["features"]).column(0)
            except (OSError, pa.ArrowException) as exc:
                raise AmrError(f"{self.path}: unreadable row group {group} ({exc})") from None
            rows, offsets = arrow_to_matrices(column, self.dim)
            rows.flags.writeable = False
            self._cache[group] = (rows, offsets)
            self._cached_bytes += rows.nbytes
            while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
                _, (old_rows, _) = self._cache.popitem(last=False)
                self._cached_bytes -= old_rows.nbytes
            return rows, offsets

    def get(self, key: Any) -> np.ndarray:
        """The (count, dim) float16 matrix of `key`, as a read-only view into the cache."""
        group, row, _ = self._where[key]
        rows, offsets = self._group(group)
        return rows[offsets[row] : offsets[row + 1]]

    @property
    def num_row_groups(self) -> int:
        return self._file.num_row_groups

    def iter_row_groups(self) -> Iterator[pa.Table]:
        for i in range(self._file.num_row_groups):
            yield self._file.read_row_group(i)


class FeatureWriter:
    """Streams id/matrix pairs into a features Parquet file, one row group per ~1 MB of features."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self.key, self.count, _ = schema.names
        self.dim = schema.field("features").type.value_type.list_size
        self._writer = pq.ParquetWriter(
            path,
            schema,
            compression={self.key: "zstd", self.count: "zstd", "features": "none"},
            use_dictionary=False,
            # Min/max of every float16 would cost a third of the write time and help no query.
            write_statistics=[self.key, self.count],
        )
        self._keys: list[Any] = []
        self._matrices: list[np.ndarray] = []
        self._pending_bytes = 0
        self.written: set[Any] = set()

    def add(self, key: Any, matrix: np.ndarray) -> None:
        if key in self.written:
            raise AmrError(f"{self.key} {key!r} written twice")
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise AmrError(
                f"{self.key} {key!r}: features of shape {matrix.shape}, need (n, {self.dim})"
            )
        self.written.add(key)
        self._keys.append(key)
        self._matrices.append(np.asarray(matrix, dtype=np.float16))
        self._pending_bytes += matrix.shape[0] * self.dim * 2
        if self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def copy_row_group(self, table: pa.Table) -> None:
        """Append rows of an existing file of the same schema without decoding them to numpy."""
        self._flush()
        table = table.cast(self.schema)
        self.written.update(table.column(self.key).to_pylist())
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def _flush(self) -> None:
        if not self._keys:
            return
        counts = pa.array([m.shape[0] for m in self._matrices], pa.int32())
        table = pa.Table.from_arrays(
            [
                pa.array(self._keys, self.schema.field(self.key).type),
                counts,
                matrices_to_arrow(self._matrices, self.dim),
            ],
            schema=self.schema,
        )
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._keys, self._matrices, self._pending_bytes = [], [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
