"""Query ids: integers (QVHighlights, Charades-STA, ActivityNet) or strings (TACoS
`"s17-d69_0"`, Ego4D-NLQ `"train0"`).

Inside amr a query is always an int64 (`qid` columns, text feature keys, corpora, batches), so
every Parquet reader reads a corpus with default settings. A string id's int64 is a pure
function of the string (`query_code`), so any file with string ids (annotations, predictions)
maps to the same codes without a table; a store keeps the strings (`query_ids.parquet`) to
write them back out, so predictions and exports round-trip them exactly. Integer ids are their
own code, and a store with integer ids has no such file (its bytes do not change).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from amr.errors import AmrError
from amr.fileio import atomic_path

QUERY_IDS_FILE = "query_ids.parquet"
STRING_CODES = 1 << 62  # string ids map into [2**62, 2**63): apart from any integer id in use
SCHEMA = pa.schema([pa.field("qid", pa.int64(), nullable=False),
                    pa.field("id", pa.string(), nullable=False)])  # fmt: skip


def query_code(qid: int | str) -> int:
    """The int64 amr keeps for a query id."""
    if isinstance(qid, str):
        digest = hashlib.sha256(qid.encode("utf-8")).digest()
        return STRING_CODES + int.from_bytes(digest[:8], "little") % STRING_CODES
    return int(qid)


def check_query_id(qid: object, where: str) -> int | str:
    """A file's `qid`: an integer, or a non-empty string without surrounding spaces."""
    if isinstance(qid, bool) or not isinstance(qid, (int, str)):
        raise AmrError(f"{where}: qid must be an integer or a string, got {qid!r}")
    if isinstance(qid, str) and (not qid or qid != qid.strip()):
        raise AmrError(f"{where}: qid {qid!r} must be a non-empty string without spaces around it")
    if isinstance(qid, int) and qid >= STRING_CODES:
        raise AmrError(f"{where}: integer qid {qid} is too large (at most {STRING_CODES - 1})")
    return qid


def external_ids(codes: Iterable[int], strings: Mapping[int, str]) -> list[int | str]:
    """Each code as the id it came from: its string, or itself."""
    return [strings.get(int(code), int(code)) for code in codes]


def read_query_ids(store_root: Path) -> dict[int, str]:
    """A store's string ids by code (empty for a store of integer ids)."""
    path = Path(store_root) / QUERY_IDS_FILE
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    return dict(zip(table["qid"].to_pylist(), table["id"].to_pylist(), strict=True))


def write_query_ids(store_root: Path, strings: Mapping[int, str]) -> None:
    """The store's string ids (none: no file)."""
    if not strings:
        return
    codes = sorted(strings)
    table = pa.table({"qid": codes, "id": [strings[c] for c in codes]}, schema=SCHEMA)
    with atomic_path(Path(store_root) / QUERY_IDS_FILE) as tmp:
        pq.write_table(table, tmp)
