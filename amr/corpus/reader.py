"""An opened corpus: its manifest checked, its parts listed, its rows read part by part."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from amr.corpus.parts import PartInfo
from amr.corpus.schema import CORPUS_FORMAT, MANIFEST, READABLE_FORMAT_VERSIONS
from amr.datasets.store import is_store
from amr.errors import AmrError

# What every manifest has (amr.augment.manifest.build_manifest writes them all).
MANIFEST_FIELDS = ("source", "config", "rows", "kinds", "features", "difficulty", "parts")


def check_part_file(path: Path, part: PartInfo) -> None:
    """A part is a regular file of the size the manifest says: a symbolic link (which could
    point anywhere) or a truncated download is a clear error before anything reads it. The
    checksum is `amr corpus verify`'s job."""
    if path.is_symlink():
        raise AmrError(f"{path}: is a symbolic link; corpus parts must be regular files")
    if not path.is_file():
        raise AmrError(f"{path}: missing (listed in the manifest)")
    size = path.stat().st_size
    if size != part.bytes:
        state = "truncated" if size < part.bytes else "larger than the manifest says"
        raise AmrError(
            f"{path}: {state} ({size:,} of {part.bytes:,} bytes); re-download or rebuild it"
        )


@dataclass
class Corpus:
    """An opened corpus: its manifest, and its parts as Parquet files."""

    root: Path
    manifest: dict[str, Any]
    parts: list[PartInfo]

    @classmethod
    def open(cls, root: str | Path, check_parts: bool = True) -> Corpus:
        """The corpus at `root`; with `check_parts` (not for `amr corpus verify`, which lists
        every problem), a missing, symlinked or truncated part is an error here."""
        root = Path(root)
        path = root / MANIFEST
        if not path.is_file():
            if is_store(root):
                raise AmrError(
                    f"{root}: is a store, not a corpus (amr datasets info --store describes a "
                    "store; amr augment makes a corpus from it)"
                )
            hint = " (an unfinished run? finish it with --resume, or amr corpus merge shards)"
            raise AmrError(f"{root}: not a corpus (no {MANIFEST}){hint if root.is_dir() else ''}")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AmrError(f"{path}: malformed JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != CORPUS_FORMAT:
            raise AmrError(f"{path}: not an amr corpus manifest")
        if manifest.get("format_version") not in READABLE_FORMAT_VERSIONS:
            readable = ", ".join(map(str, READABLE_FORMAT_VERSIONS))
            raise AmrError(
                f"{path}: corpus format version {manifest.get('format_version')} is not supported "
                f"(this amr reads versions {readable})"
            )
        missing = [key for key in MANIFEST_FIELDS if key not in manifest]
        if missing:
            raise AmrError(f"{path}: the manifest has no {missing[0]!r} field")
        parts = [PartInfo.from_json(p, path) for p in manifest["parts"]]
        if len({p.file for p in parts}) != len(parts):
            raise AmrError(f"{path}: a part is listed twice")
        for part in parts if check_parts else ():
            check_part_file(root / part.file, part)
        return cls(root, manifest, parts)

    @property
    def recipes_only(self) -> bool:
        return bool(self.manifest.get("recipes_only"))

    @property
    def format_version(self) -> int:
        return int(self.manifest["format_version"])

    @property
    def video_dim(self) -> int:
        return int(self.manifest["source"]["video_dim"])

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

    def part_paths(self) -> list[Path]:
        return [self.root / p.file for p in self.parts]

    def iter_tables(self, columns: list[str] | None = None) -> Iterator[tuple[PartInfo, pa.Table]]:
        """Each part's rows (only `columns`), one part in memory at a time."""
        for part in self.parts:
            path = self.root / part.file
            try:
                yield part, pq.read_table(path, columns=columns)
            except (OSError, pa.ArrowException) as exc:
                raise AmrError(f"{path}: unreadable part ({exc})") from None
