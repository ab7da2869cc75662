"""A part's label digest: every column but `features`, hashed by value (not by file bytes), so
that `amr corpus verify` catches an edit to a qid, a query, a saliency score, a difficulty, a bin
or a negative window even when the part's file checksum was recomputed after it.

The digest is the same however the rows are cut into row groups: each column is split into
streams (lengths of lists and strings, validity, values), each stream is hashed on its own as
row groups arrive, and the digest is the hash of the streams' hashes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

FEATURES = "features"  # checked against the store by recomputing, not by digest
PREFIX = "xxh3_128:"


class LabelDigest:
    """Fed a part's row groups in order; `text()` is its digest."""

    def __init__(self) -> None:
        self._streams: dict[str, xxhash.xxh3_128] = {}

    def update(self, table: pa.Table) -> None:
        for name in table.column_names:
            if name == FEATURES:
                continue
            for array in table.column(name).chunks:
                for key, data in _streams(name, array):
                    self._streams.setdefault(key, xxhash.xxh3_128()).update(data)

    def text(self) -> str:
        total = xxhash.xxh3_128()
        for key in sorted(self._streams):
            total.update(key.encode() + b"\0" + self._streams[key].digest())
        return PREFIX + total.hexdigest()


def label_digest(table: pa.Table) -> str:
    digest = LabelDigest()
    digest.update(table)
    return digest.text()


def _streams(path: str, array: pa.Array) -> Iterator[tuple[str, bytes]]:
    """(stream name, bytes) of one array, recursively; slicing offsets are respected."""
    if array.null_count:
        yield f"{path}/valid", np.asarray(array.is_valid()).tobytes()
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield f"{path}/lengths", _int64(array.value_lengths())
        yield from _streams(f"{path}/item", array.flatten())
    elif pa.types.is_struct(kind):
        for field, child in zip(kind, array.flatten(), strict=True):
            yield from _streams(f"{path}.{field.name}", child)
    elif pa.types.is_string(kind) or pa.types.is_binary(kind):
        yield f"{path}/lengths", _int64(pc.binary_length(array))
        offsets = np.frombuffer(array.buffers()[1], np.int32)[array.offset :][: len(array) + 1]
        data = array.buffers()[2]
        yield f"{path}/data", b"" if data is None else data[offsets[0] : offsets[-1]].to_pybytes()
    else:
        values = array.fill_null(0) if array.null_count else array
        yield f"{path}/values", values.to_numpy(zero_copy_only=False).tobytes()


def _int64(array: pa.Array) -> bytes:
    return array.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64).tobytes()
