"""What a synthetic store knows and its labels do not say: each query's true event extents
(the labels are noisy annotations of them) and its hidden look-alike twins.

`STORE/truth.parquet` has one row per query of every split: split, qid, true_windows and
twin_windows ([start, end] seconds). Stores imported from real data have no such file.
`amr eval --truth` scores against the true extents; `amr experiment` splits its results into
queries with and without a twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from amr.errors import AmrError

TRUTH_FILE = "truth.parquet"
_SPANS = pa.list_(pa.list_(pa.float32(), 2))
TRUTH_SCHEMA = pa.schema(
    [
        pa.field("split", pa.string(), nullable=False),
        pa.field("qid", pa.int64(), nullable=False),
        pa.field("true_windows", _SPANS),
        pa.field("twin_windows", _SPANS),
    ]
)


@dataclass(frozen=True)
class TruthRow:
    split: str
    qid: int
    true_windows: list[list[float]]
    twin_windows: list[list[float]]


def write_truth(path: Path, rows: list[TruthRow]) -> None:
    rows = sorted(rows, key=lambda r: (r.split, r.qid))
    table = pa.table(
        {
            "split": [r.split for r in rows],
            "qid": [r.qid for r in rows],
            "true_windows": [r.true_windows for r in rows],
            "twin_windows": [r.twin_windows for r in rows],
        },
        schema=TRUTH_SCHEMA,
    )
    pq.write_table(table, path, compression="zstd")


def has_truth(store_root: str | Path) -> bool:
    return (Path(store_root) / TRUTH_FILE).is_file()


def read_truth(store_root: str | Path, split: str) -> pa.Table:
    """The split's rows of the store's truth file (a clear error when it has none)."""
    path = Path(store_root) / TRUTH_FILE
    if not path.is_file():
        raise AmrError(
            f"{store_root}: the store has no {TRUTH_FILE} (only synthetic stores know the true "
            "extents of their events)"
        )
    table = pq.read_table(path, filters=[("split", "=", split)])
    if table.num_rows == 0:
        raise AmrError(f"{path}: no rows for split {split!r}")
    return table


def queries_with_twin(store_root: str | Path, split: str) -> set[int]:
    """Qids of the split whose video holds a hidden look-alike twin of the queried event."""
    table = read_truth(store_root, split)
    counts = pa.compute.list_value_length(table["twin_windows"]).fill_null(0).to_numpy()
    return set(table["qid"].to_numpy()[np.flatnonzero(counts > 0)].tolist())


def with_true_windows(samples: pa.Table, truth: pa.Table, where: str) -> pa.Table:
    """`samples` with relevant_windows replaced by the true extents (same query order)."""
    by_qid = dict(zip(truth["qid"].to_pylist(), truth["true_windows"].to_pylist(), strict=True))
    windows = []
    for qid in samples["qid"].to_pylist():
        if qid not in by_qid:
            raise AmrError(f"{where}: qid {qid} has no true extent")
        windows.append(by_qid[qid])
    column = samples.schema.get_field_index("relevant_windows")
    field = samples.schema.field(column)
    return samples.set_column(column, field, pa.array(windows, type=field.type))
