"""Part files: written as a stream of row groups, checksummed as the bytes go to disk, and
listed in the manifest with their row range, difficulty range, size, checksum and label digest."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from amr.corpus.labels import LabelDigest, label_digest
from amr.corpus.schema import PART_NAME
from amr.errors import AmrError
from amr.fileio import Checksum, atomic_path, checksum_algorithm


class _HashingSink(io.RawIOBase):
    """The file pyarrow writes a part into: bytes are checksummed on their way to the disk, so
    a part is never read back to be hashed."""

    def __init__(self, fd: int, checksum: Checksum):
        super().__init__()
        self._fd = fd
        self._checksum = checksum
        self.position = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._checksum.update(view)
        done = 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        self.position += done
        return done


class PartWriter:
    """Writes one part: each `write_table` call becomes one row group, so a part is streamed,
    never held whole. The bytes are checksummed as they are written, and the kernel is told to
    start writing them to disk right away (so that the disk works while the next row group is
    made, and the final fsync has little left to wait for)."""

    def __init__(self, path: Path, schema: pa.Schema):
        compression = {name: "zstd" for name in schema.names}
        if "features" in compression:
            compression["features"] = "none"  # float16 noise barely compresses (0.92 at zstd-1)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._checksum = Checksum()
        self._sink = _HashingSink(self._fd, self._checksum)
        self._writer = pq.ParquetWriter(
            self._sink,
            schema,
            compression=compression,
            use_dictionary=["kind", "host_vid"],
            write_statistics=["sample_id", "kind", "difficulty", "curriculum_bin"],
        )
        self._labels = LabelDigest()
        self.checksum = ""  # set by close()
        self.labels = ""  # the label digest, set by close()

    def write_table(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self._labels.update(table)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self._fd, 0, self._sink.position, os.POSIX_FADV_DONTNEED)

    def close(self) -> str:
        """Finish the file; return its checksum (also kept in `checksum`)."""
        try:
            self._writer.close()
            self.checksum = self._checksum.text()
            self.labels = self._labels.text()
            return self.checksum
        finally:
            os.close(self._fd)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        os.close(self._fd)


@contextlib.contextmanager
def part_writer(path: Path, schema: pa.Schema) -> Iterator[PartWriter]:
    """A PartWriter whose file appears under `path` only once complete and fsynced; its
    checksum is in `writer.checksum` after the block."""
    with atomic_path(path) as tmp:
        writer = PartWriter(tmp, schema)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()


def write_part(path: Path, table: pa.Table, row_group_rows: int) -> None:
    """Write a whole table as one part (row groups of `row_group_rows`), atomically."""
    with part_writer(path, table.schema) as writer:
        for start in range(0, table.num_rows, row_group_rows):
            writer.write_table(table.slice(start, row_group_rows))


@dataclass(frozen=True)
class PartInfo:
    file: str
    rows: int
    first_row: int
    difficulty: tuple[float, float]
    bytes: int
    checksum: str  # "algorithm:hex", see amr.fileio.CHECKSUM_ALGORITHMS
    # the label columns by value (amr.corpus.labels); "" in corpora written before amr had it
    labels: str = ""

    def to_json(self) -> dict[str, Any]:
        body = {
            "file": self.file,
            "rows": self.rows,
            "first_row": self.first_row,
            "difficulty": list(self.difficulty),
            "bytes": self.bytes,
            "checksum": self.checksum,
        }
        return {**body, "labels": self.labels} if self.labels else body

    @classmethod
    def from_json(cls, body: dict[str, Any], where: Path) -> PartInfo:
        name = str(body.get("file", ""))
        if not PART_NAME.fullmatch(name):
            raise AmrError(f"{where}: part name {name!r} is not part-NNNNN.parquet")
        try:
            low, high = body["difficulty"]
            info = cls(
                name,
                int(body["rows"]),
                int(body["first_row"]),
                (float(low), float(high)),
                int(body["bytes"]),
                str(body["checksum"]),
                str(body.get("labels", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AmrError(f"{where}: malformed entry for {name} ({exc})") from None
        try:
            checksum_algorithm(info.checksum)
        except AmrError as exc:
            raise AmrError(f"{where}: {name}: {exc}") from None
        return info


def part_labels(path: Path) -> str:
    """The label digest of a part on disk (a part a resumed run kept)."""
    columns = [name for name in pq.read_schema(path).names if name != "features"]
    return label_digest(pq.read_table(path, columns=columns))
