"""Every `amr` command in README.md and docs/*.md, in code blocks and in prose, names a command
that exists and options it takes, so that the docs cannot drift from the CLI. Commands are
parsed by click, not run: placeholders (`…`, `STORE`) and values left out stand for values."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from amr.cli import cli

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
SHELL = {"console", "bash", "sh", "shell"}
INLINE = re.compile(r"`(amr [^`]+)`")
PLACEHOLDER = "PLACEHOLDER"


def doc_commands() -> list[tuple[str, str]]:
    """(file:line, command) for each `amr ...` in a shell block (continuations joined) or in
    an inline code span."""
    found = []
    for doc in DOCS:
        fence, pending = None, ""
        for lineno, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{doc.relative_to(REPO)}:{lineno}"
            opened = FENCE.match(line.strip())
            if opened:
                fence = None if fence is not None else (opened.group(1) or "text")
                continue
            if fence in SHELL:
                text = (pending + " " + line.strip()).strip()
                pending = text[:-1] if text.endswith("\\") else ""
                text = text.removeprefix("$ ")
                if not pending and text.startswith("amr "):
                    found.append((where, text))
            elif fence is None:
                found += [(where, m.group(1)) for m in INLINE.finditer(line)]
    return found


def _words(text: str) -> list[str]:
    for cut in (" # ", "  #", " | ", " && ", " > ", " 2>"):
        text = text.split(cut)[0]
    words = [w.strip("[]") for w in shlex.split(text)[1:] if w not in ("&", ";")]
    return [PLACEHOLDER if w in ("...", "…") else w for w in words if w]


def problem(args: list[str], command: click.Command = cli, path: str = "amr") -> str | None:
    """Why click refuses `args` under `command`, or None. A subcommand written `a|b` or `…`
    stands for each of (any of) the subcommands; an option named last without its value is
    the option being mentioned."""
    if isinstance(command, click.Group):
        if not args or args[0].startswith("-"):
            return None if not args else problem_of_options(command, args, path)
        name, rest = args[0], args[1:]
        names = list(command.list_commands(click.Context(command)))
        wanted = names if name == PLACEHOLDER else name.split("|")
        results = []
        for each in wanted:
            sub = command.get_command(click.Context(command), each)
            if sub is None:
                return f"no command '{path} {each}'"
            results.append(problem(rest, sub, f"{path} {each}"))
        if name == PLACEHOLDER:
            return None if None in results else results[0]
        return next((r for r in results if r is not None), None)
    return problem_of_options(command, args, path)


def problem_of_options(command: click.Command, args: list[str], path: str) -> str | None:
    try:
        command.make_context(path, list(args))
    except click.exceptions.Exit:
        return None  # --help
    except (click.exceptions.MissingParameter, click.exceptions.BadParameter):
        return None  # a placeholder, or a value a sketch leaves out
    except click.exceptions.UsageError as error:
        message = error.format_message()
        if "requires an argument" in message and args and args[-1].startswith("--"):
            return None  # `amr inspect --sql`: the option named, in prose
        if "unexpected extra argument" in message and PLACEHOLDER in message:
            return None
        return f"{path}: {message}"
    return None


COMMANDS = doc_commands()


def test_the_docs_name_commands():
    assert len(COMMANDS) >= 100  # the collector found the docs' commands


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_documented_command_parses(where, command):
    assert problem(_words(command)) is None, f"{where}: {command}"


def test_the_checker_catches_drift():
    assert problem(_words("amr augment --store S --nosuch 3")) is not None
    assert problem(_words("amr corpus nosuch --corpus C")) == "no command 'amr corpus nosuch'"
    assert problem(_words("amr train baseline|nosuch --out R")) is not None
    assert problem(_words("amr eval --predictions p.jsonl --store S --split val")) is None


def test_the_random_feature_lines_make_features_that_import(qvh_val, tmp_path, monkeypatch):
    """docs/datasets.md ships the lines that made its import example's features: run them,
    then the example, which must read the widths the doc prints."""
    from click.testing import CliRunner

    text = (REPO / "docs" / "datasets.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(# random features.*?)```", text, re.S)
    assert code, "docs/datasets.md: the random-feature lines are gone"
    (tmp_path / "highlight_val_release.jsonl").symlink_to(qvh_val)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "docs/datasets.md", "exec"), {})
    command = next(c for w, c in COMMANDS if "datasets.md" in w and "val_200.jsonl" in c)
    result = CliRunner().invoke(cli, _words(command))
    assert result.exit_code == 0, result.output
    assert "192 video and 200 query feature files · video dim 2816 · text dim 512" in result.output


@pytest.mark.parametrize("stage", ["cold-start", "distill"])
def test_the_reference_configs_are_the_full_budget(stage):
    """configs/reference-*.json, which the README gives for real features, are the schedule of
    `amr experiment --budget full` (the reference's), not a copy that drifts from it."""
    import json

    from amr.experiment.budget import BUDGETS

    full = BUDGETS["full"]
    config = json.loads((REPO / "configs" / f"reference-{stage}.json").read_text())
    assert config == {"train": full.stage1 if stage == "cold-start" else full.stage2}
    assert not full.model  # the model: ModelConfig's defaults, the reference's
