"""`amr augment`, `amr inspect` and `amr corpus` as a user runs them (real processes)."""

import json

import pytest
from test_cli import amr

pytestmark = pytest.mark.slow  # trains models or runs real processes


@pytest.fixture(scope="module")
def cli_corpus(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "corpus"
    result = amr(
        "augment",
        "--store",
        str(small_store),
        "--out",
        str(out),
        "--multiplier",
        "3",
        "--part-rows",
        "100",
        "--workers",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "rows (original" in result.stdout
    return out


def test_augment_help_explains_the_options():
    result = amr("augment", "--help")
    for option in ("--multiplier", "--kinds", "--shard", "--recipes-only", "--resume", "--workers"):
        assert option in result.stdout


def test_inspect_summary_and_sql(cli_corpus, small_store):
    result = amr("inspect", "--corpus", str(cli_corpus))
    assert result.returncode == 0, result.stderr
    for text in ("rows per kind", "difficulty histogram", "curriculum bins", "negative"):
        assert text in result.stdout
    result = amr(
        "inspect",
        "--corpus",
        str(cli_corpus),
        "--sql",
        "SELECT kind, count(*) AS n FROM corpus GROUP BY kind ORDER BY kind",
    )
    assert result.returncode == 0, result.stderr
    assert "boundary" in result.stdout and "original" in result.stdout
    result = amr(
        "inspect",
        "--corpus",
        str(cli_corpus),
        "--store",
        str(small_store),
        "--sql",
        "SELECT count(*) AS real_rows FROM samples",
    )
    assert result.returncode == 0 and "real_rows" in result.stdout
    result = amr("inspect", "--corpus", str(cli_corpus), "--sql", "SELECT nope FROM corpus")
    assert result.returncode == 1 and result.stderr.startswith('error: --sql: no column "nope"')
    # Into a pipe or a file: tab-separated, every value whole (no 80-column table)
    query = "SELECT sample_id, recipe FROM corpus WHERE len(recipe) > 1 LIMIT 3"
    result = amr("inspect", "--corpus", str(cli_corpus), "--sql", query)
    header, *rows = result.stdout.splitlines()
    assert header == "sample_id\trecipe" and len(rows) == 3
    recipe = json.loads(rows[0].split("\t")[1])
    assert len(recipe) > 1 and {"vid", "clips", "target_start"} <= set(recipe[0])


def test_corpus_info_and_verify(cli_corpus, small_store, tmp_path):
    result = amr("corpus", "info", "--corpus", str(cli_corpus), "--json")
    manifest = json.loads(result.stdout)
    assert manifest["format"] == "amr-corpus" and manifest["config"]["multiplier"] == 3
    result = amr("corpus", "verify", "--corpus", str(cli_corpus), "--store", str(small_store))
    assert result.returncode == 0 and "ok:" in result.stdout
    card = (cli_corpus / "README.md").read_text()
    assert "\n# Augmented moment-retrieval corpus" in card and "path: part-*.parquet" in card


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--multiplier", "0"], "error: --multiplier must be at least 1, got 0"),
        (
            ["--kinds", "splice,crop"],
            "error: --kinds: unknown kind crop; choose from splice, boundary, negative",
        ),
        (["--split", "holdout"], "no split 'holdout'"),
        (["--shard", "3/2"], "error: --shard '3/2': need 0 <= K < N"),
    ],
)
def test_bad_augment_options_are_one_line_errors(small_store, tmp_path, args, message):
    result = amr(
        "augment", "--store", str(small_store), "--out", str(tmp_path / "c"), "--quiet", *args
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not (tmp_path / "c").exists()


def test_missing_store_and_corrupt_part(cli_corpus, tmp_path):
    result = amr("augment", "--store", str(tmp_path / "none"), "--out", str(tmp_path / "c"))
    assert result.returncode == 1 and "not a store" in result.stderr
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(cli_corpus, copy)
    (copy / "part-00000.parquet").write_bytes(b"not parquet")
    result = amr("corpus", "verify", "--corpus", str(copy), "--quiet")
    assert result.returncode == 1
    assert "part-00000.parquet: checksum does not match" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_shard_says_what_it_wrote(small_store, tmp_path):
    args = ["augment", "--store", str(small_store), "--out", str(tmp_path / "c"),
            "--multiplier", "3", "--part-rows", "100"]  # fmt: skip
    first = amr(*args, "--shard", "0/2")
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "c" / "shard-0-of-2.json").read_text())
    mine = len(manifest["parts"])
    rows = sum(p["rows"] for p in manifest["parts"])
    assert f"shard 0/2: wrote {mine} of its {mine} parts ({rows:,} rows" in first.stdout
    assert "amr corpus merge" in first.stdout
