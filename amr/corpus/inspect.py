"""`amr inspect`: DuckDB over a corpus — a summary, or any SQL over the views `corpus`/`samples`."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from amr.corpus.reader import Corpus
from amr.datasets.store import Store, samples_file
from amr.errors import AmrError


@dataclass(frozen=True)
class CorpusSummary:
    rows: int
    parts: int
    bytes: int
    recipes_only: bool
    source: dict
    kinds: list[tuple[str, int, float, float]]  # kind, rows, mean difficulty, mean windows
    histogram: list[int]  # rows per difficulty tenth
    bins: list[
        tuple[int, int, float, float, float, float]
    ]  # bin, rows, min/max difficulty, mean/median moment s


def connect(corpus: Corpus, store: Store | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with view `corpus` over the parts (and `samples`, the source split).

    It can read those files and nothing else: external access is off but for them, and the
    setting is locked, so a query cannot read other files, write any, attach a database or
    install an extension. `select_only` refuses anything but one SELECT (a COPY could
    otherwise write over one of the allowed files)."""
    connection = duckdb.connect()
    files = [str(path) for path in corpus.part_paths()]
    if not files:
        raise AmrError(f"{corpus.root}: the corpus has no parts")
    connection.execute(f"CREATE VIEW corpus AS SELECT * FROM read_parquet({_sql_list(files)})")
    if store is not None:
        split = corpus.manifest["source"]["split"]
        path = store.root / samples_file(split)
        if split not in store.meta.splits:
            raise AmrError(f"{store.root}: no split {split!r}, the corpus's source")
        files.append(str(path))
        connection.execute(
            f"CREATE VIEW samples AS SELECT * FROM read_parquet({_sql_list([str(path)])})"
        )
    connection.execute(f"SET allowed_paths = {_sql_list(files)}")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection


def select_only(query: str, what: str = "SQL") -> str:
    """`query` if it is one SELECT statement; else a one-line error (no COPY, ATTACH, INSTALL,
    SET or stacked statements)."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise AmrError(f"{what}: {str(exc).splitlines()[0]}") from None
    kinds = [statement.type.name for statement in statements]
    if kinds != ["SELECT"]:
        found = " + ".join(kinds) or "nothing"
        raise AmrError(f"{what}: only one SELECT is allowed (got {found})")
    return query


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def summarize_corpus(corpus: Corpus) -> CorpusSummary:
    db = connect(corpus)
    kinds = db.execute(
        "SELECT kind, count(*), avg(difficulty), avg(len(relevant_windows)) FROM corpus "
        "GROUP BY kind ORDER BY min(sample_id)"
    ).fetchall()
    tenths = db.execute(
        "SELECT least(floor(difficulty * 10), 9)::INT AS t, count(*) FROM corpus GROUP BY t"
    ).fetchall()
    histogram = [0] * 10
    for tenth, count in tenths:
        histogram[tenth] = count
    bins = db.execute(
        """
        SELECT curriculum_bin, count(*), min(difficulty), max(difficulty),
               avg(moment), median(moment)
        FROM (SELECT curriculum_bin, difficulty,
                     list_sum(list_transform(relevant_windows, lambda w: w[2] - w[1])) AS moment
              FROM corpus)
        GROUP BY curriculum_bin ORDER BY curriculum_bin
        """
    ).fetchall()
    return CorpusSummary(
        rows=corpus.rows,
        parts=len(corpus.parts),
        bytes=sum(p.bytes for p in corpus.parts),
        recipes_only=corpus.recipes_only,
        source=corpus.manifest["source"],
        kinds=[(k, n, float(d), float(w)) for k, n, d, w in kinds],
        histogram=histogram,
        bins=[
            (int(b), n, float(lo), float(hi), float(m or 0), float(md or 0))
            for b, n, lo, hi, m, md in bins
        ],
    )


def sql_error(exc: duckdb.Error, option: str) -> AmrError:
    """DuckDB's error as one line a user can act on: the kind of mistake in words, DuckDB's
    own hint (`Candidate bindings`, `Did you mean`) kept, the option named."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = re.sub(r"^\w+ Error: ", "", lines[0] if lines else str(exc)).rstrip("!")
    first = re.sub(r'^Referenced column (".*?") not found in FROM clause', r"no column \1", first)
    hint = next((line for line in lines[1:] if line.startswith(("Candidate", "Did you"))), "")
    hint = hint.replace("Candidate bindings:", "columns like") if hint else ""
    table = re.match(r"Table with name (\S+) does not exist", first)
    if table:  # DuckDB would suggest its own catalog tables
        first = f"no table {table.group(1)}"
        hint = "the query reads the view `corpus`, and `samples` with --store"
    return AmrError(f"{option}: {first}" + (f" ({hint})" if hint else ""))


def run_sql(corpus: Corpus, query: str, store: Store | None = None, limit: int = 1000):
    """(column names, rows) of `query`; at most `limit` rows are fetched."""
    if limit < 0:
        raise AmrError(f"--limit must be at least 0, got {limit}")
    db = connect(corpus, store)
    try:
        result = db.execute(select_only(query))
    except duckdb.Error as exc:
        raise sql_error(exc, "--sql") from None
    if result.description is None:
        return [], []
    names = [d[0] for d in result.description]
    return names, result.fetchmany(limit)


def bar(count: int, largest: int, width: int = 40) -> str:
    """A horizontal bar in eighths of a character, for terminal histograms."""
    if largest <= 0:
        return ""
    eighths = round(count / largest * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]
