"""One vocabulary across `amr`: --store/--corpus/--out as options, --kinds, --quiet and --json
on every command, one --workers default; the old spellings are refused naming the new one."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from amr.cli import cli
from amr.cli.options import _LegacyArgument, default_workers

# The positional arguments that are not a store, corpus or output.
POSITIONALS = {("import", "dataset"), ("merge", "shard_dirs")}
PATH_FLAGS = {"store_path": "--store", "corpus": "--corpus", "out": "--out"}


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(_commands())


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_speaks_the_same_options(path, command):
    names = {param.name for param in command.params}
    assert {"quiet", "as_json"} <= names, "--quiet and --json on every command"
    for param in command.params:
        if isinstance(param, click.Argument) and not isinstance(param, _LegacyArgument):
            assert (path[-1], param.name) in POSITIONALS, f"{param.name} is positional"
        if isinstance(param, click.Option) and param.name in PATH_FLAGS:
            assert PATH_FLAGS[param.name] in param.opts
        if param.name == "workers":
            assert param.default is default_workers
        if param.name in ("ops", "kinds"):
            assert "--kinds" in param.opts or param.hidden


@pytest.fixture(scope="module")
def world(small_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("vocabulary")
    result = CliRunner().invoke(
        cli,
        [
            "augment",
            "--store",
            str(small_store),
            "--out",
            str(root / "corpus"),
            "--multiplier",
            "1",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    return root


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, prog_name="amr")
    return result.exit_code, result.stdout, result.stderr


OLD_SPELLINGS = [
    (
        ["datasets", "info", "{store}"],
        "'amr datasets info {store}' is no longer accepted; write 'amr datasets info --store "
        "{store}'",
    ),
    (["inspect", "{root}/corpus"], "write 'amr inspect --corpus {root}/corpus'"),
    (["corpus", "info", "{root}/corpus"], "write 'amr corpus info --corpus {root}/corpus'"),
    (["corpus", "verify", "{root}/corpus"], "write 'amr corpus verify --corpus {root}/corpus'"),
    (
        [
            "datasets",
            "subset",
            "{store}",
            "--fraction",
            "0.5",
            "--out",
            "{root}/half",
            "--overwrite",
        ],
        "write 'amr datasets subset --store {store}'",
    ),
    (
        [
            "datasets",
            "synth",
            "{root}/tiny",
            "--train-videos",
            "3",
            "--val-videos",
            "2",
            "--test-videos",
            "1",
            "--overwrite",
        ],
        "write 'amr datasets synth --out {root}/tiny'",
    ),
    (
        [
            "augment",
            "--store",
            "{store}",
            "--out",
            "{root}/ops",
            "--ops",
            "splice",
            "--multiplier",
            "1",
            "--overwrite",
        ],
        "--ops is no longer accepted; write --kinds splice",
    ),
]


@pytest.mark.parametrize(
    ("args", "note"), OLD_SPELLINGS, ids=[" ".join(args[:2]) for args, _ in OLD_SPELLINGS]
)
def test_old_spellings_are_refused_naming_the_new_one(world, small_store, args, note):
    fill = {"store": str(small_store), "root": str(world)}
    before = sorted(p.name for p in world.iterdir())
    code, stdout, stderr = _run([a.format(**fill) for a in args])
    assert code == 2 and not stdout
    assert stderr.startswith("error: ") and note.format(**fill) in " ".join(stderr.split())
    assert sorted(p.name for p in world.iterdir()) == before  # nothing was written


def test_the_old_merge_spelling_and_a_missing_out(small_store, tmp_path):
    base = ["augment", "--store", str(small_store), "--multiplier", "1", "--quiet"]
    for k in (0, 1):
        code, _, stderr = _run([*base, "--out", str(tmp_path / "sharded"), "--shard", f"{k}/2"])
        assert code == 0, stderr
    code, stdout, stderr = _run(["corpus", "merge", str(tmp_path / "sharded")])  # old spelling
    assert code == 2 and "write 'amr corpus merge --out" in " ".join(stderr.split())
    code, stdout, _ = _run(["corpus", "merge", "--out", str(tmp_path / "sharded")])
    assert code == 0 and "merged" in stdout
    code, _, stderr = _run(["corpus", "merge"])
    assert code == 2 and "Missing option '--out'" in stderr


def test_a_missing_path_option_is_named(world, small_store, tmp_path):
    code, _, stderr = _run(["inspect"])
    assert code == 2 and "Missing option '--corpus'" in stderr


def test_json_and_quiet_output(world, small_store, tmp_path):
    corpus = str(world / "corpus")
    cases = [
        (["datasets", "info", "--store", str(small_store)], "fingerprint"),
        (
            [
                "datasets",
                "subset",
                "--store",
                str(small_store),
                "--fraction",
                "0.5",
                "--out",
                str(tmp_path / "half"),
            ],
            "fingerprint",
        ),
        (
            ["datasets", "wrong-spans", "--store", str(tmp_path / "half"), "--split", "train"],
            "mined",
        ),
        (
            [
                "augment",
                "--store",
                str(small_store),
                "--out",
                str(tmp_path / "c"),
                "--multiplier",
                "1",
                "--recipes-only",
            ],
            "rows",
        ),
        (
            [
                "corpus",
                "materialize",
                "--corpus",
                str(tmp_path / "c"),
                "--store",
                str(small_store),
                "--out",
                str(tmp_path / "full"),
            ],
            "rows",
        ),
        (["inspect", "--corpus", corpus], "kinds"),
        (["inspect", "--corpus", corpus, "--sql", "SELECT count(*) AS n FROM corpus"], "rows"),
        (["corpus", "info", "--corpus", corpus], "manifest"),
        (["corpus", "verify", "--corpus", corpus], "problems"),
    ]
    for args, key in cases:
        code, stdout, stderr = _run([*args, "--json"])
        assert code == 0, (args, stderr)
        body = json.loads(stdout)
        assert key in body or (key == "manifest" and body["format"] == "amr-corpus"), args
        assert stderr == "", "no progress bars with --json"
    code, stdout, stderr = _run(["corpus", "verify", "--corpus", corpus, "--quiet"])
    assert code == 0 and stdout == "" and stderr == ""
    code, stdout, _ = _run(["datasets", "info", "--store", str(small_store), "--quiet"])
    assert code == 0 and stdout == ""
