"""`amr show`: contact sheets of augmented samples and of queries with their predictions."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from amr.augment import AugmentConfig, augment
from amr.cli import cli
from amr.corpus import Corpus
from amr.datasets import Store
from amr.show.queries import query_panel
from amr.show.samples import Selection, sample_panel, select_rows
from amr.show.timeline import (
    LEGEND,
    Panel,
    Span,
    Track,
    assign_lanes,
    fitting_text,
    legend_entries,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def corpus(small_store, tmp_path_factory) -> Corpus:
    out = tmp_path_factory.mktemp("show") / "corpus"
    augment(small_store, "train", out, AugmentConfig(multiplier=2, seed=1), show_progress=False)
    return Corpus.open(out)


def _show(*args: str):
    return CliRunner().invoke(cli, ["show", *args], prog_name="amr")


def test_a_contact_sheet_of_the_hardest_negatives(corpus, tmp_path):
    out = tmp_path / "sheet.png"
    where = "kind = 'negative' ORDER BY difficulty DESC"
    result = _show("--corpus", str(corpus.root), "--where", where, "--limit", "4",
                   "--out", str(out), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    drawn = json.loads(result.stdout)["samples"]
    rows = select_rows(corpus, Selection(where=where, limit=4))
    assert drawn == [row["sample_id"] for row in rows] and len(drawn) == 4
    assert [row["difficulty"] for row in rows] == sorted((r["difficulty"] for r in rows),
                                                         reverse=True)  # fmt: skip
    assert out.read_bytes().startswith(PNG)
    one = tmp_path / "one.png"
    assert _show("--corpus", str(corpus.root), "--sample-id", str(drawn[0]), "--out",
                 str(one), "--quiet").exit_code == 0  # fmt: skip
    assert one.stat().st_size < out.stat().st_size  # one panel, not four


def test_show_replaces_only_the_pngs_it_drew(corpus, tmp_path):
    draw = ["--corpus", str(corpus.root), "--sample-id", "0", "--quiet", "--out"]
    photo = tmp_path / "holiday.png"
    photo.write_bytes(PNG + b"someone's photo")
    refused = _show(*draw, str(photo))
    assert refused.exit_code == 1 and "exists and is not a PNG amr show drew" in refused.output
    assert photo.read_bytes() == PNG + b"someone's photo"
    assert _show(*draw, str(photo), "--overwrite").exit_code == 0
    assert _show(*draw, str(photo)).exit_code == 0  # now amr's: redrawn without --overwrite
    assert photo.read_bytes().startswith(PNG)
    single = _show(*draw[:-2], "--out", str(tmp_path / "single.png"))
    assert single.stdout.rstrip().endswith(": 1 sample")


def test_a_sample_panel_puts_each_paste_on_its_own_track(corpus):
    clip = float(corpus.manifest["source"]["clip_length"])
    rows = select_rows(corpus, Selection(where="kind = 'negative'", limit=30))
    for row in rows:
        panel = sample_panel(row, clip)
        host, *pastes, labels = panel.tracks
        assert (
            host.name == f"host {row['recipe'][0]['vid']}" and len(pastes) == len(row["recipe"]) - 1
        )
        for track, paste in zip(pastes, row["recipe"][1:], strict=True):
            (span,) = track.spans
            assert span.start == paste["target_start"] * clip
            assert (span.weights is None) == (paste["alpha"] is None)  # fades drawn as ramps
        roles = {span.role for track in pastes for span in track.spans}
        assert "moment" in roles and "negative" in roles  # the query's moment and a distractor
        assert [(s.start, s.end) for s in labels.spans if s.role == "label"] == [
            tuple(w) for w in row["relevant_windows"]
        ]
        assert f"difficulty {row['difficulty']:.2f}" in panel.title


def test_show_refuses_what_it_cannot_draw(corpus, small_store, tmp_path):
    png = str(tmp_path / "x.png")
    cases = [
        (["--out", png], 2, "give --corpus (samples) or --store (queries)"),
        (["--corpus", str(corpus.root), "--out", png], 1, "give --sample-id (repeatable) or"),
        (
            ["--corpus", str(corpus.root), "--sample-id", "987654", "--out", png],
            1,
            "no sample 987654",
        ),
        (
            ["--corpus", str(corpus.root), "--where", "kind = 'none'", "--out", png],
            1,
            "no row matches",
        ),
        (
            ["--corpus", str(corpus.root), "--where", "nope = 1", "--out", png],
            1,
            'error: --where: no column "nope"',
        ),
        (
            ["--corpus", str(corpus.root), "--sample-id", "0", "--out", str(tmp_path / "x.jpg")],
            1,
            "--out must be a .png file",
        ),
        (
            ["--store", str(small_store), "--split", "val", "--qid", "-5", "--out", png],
            1,
            "split 'val' has no qid -5",
        ),
    ]
    for args, code, message in cases:
        result = _show(*args)
        assert result.exit_code == code, (args, result.output)
        assert result.stderr.startswith("error: ") and message in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


CLIPS = 20  # saliency scores a prediction line carries


def _predictions(path, samples, shift: float):
    with open(path, "w") as f:
        for s in samples:
            start, end = s["relevant_windows"][0]
            windows = [[start, end, 0.2], [start + shift, end + shift, 0.9], [0.0, 4.0, 0.5]]
            saliency = [float(i % 5) - 1.5 for i in range(CLIPS)]
            f.write(json.dumps({"qid": s["qid"], "vid": s["vid"], "query": s["query"],
                                "pred_relevant_windows": windows,
                                "pred_saliency_scores": saliency}) + "\n")  # fmt: skip
    return path


def test_queries_with_two_runs_side_by_side(small_store, tmp_path):
    store = Store.open(small_store)
    samples = store.samples("val").to_pylist()[:3]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = [_predictions(tmp_path / d / "val_preds.jsonl", samples, shift)
            for d, shift in (("a", 0.0), ("b", 4.0))]  # fmt: skip
    out = tmp_path / "queries.png"
    qids = [str(s["qid"]) for s in samples]
    args = ["--store", str(small_store), "--split", "val", "--out", str(out), "--top-k", "2"]
    for qid in qids:
        args += ["--qid", qid]
    for run in runs:
        args += ["--predictions", str(run)]
    result = _show(*args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["queries"] == [int(q) for q in qids]
    assert out.read_bytes().startswith(PNG)

    from amr.eval import read_predictions

    panel = query_panel(samples[0], store.meta.clip_length, [read_predictions(r) for r in runs], 2)
    truth, first, second = panel.tracks
    assert (first.name, second.name) == ("a", "b")  # same file names: named by run directory
    assert [s.text for s in first.spans] == ["#1 0.90", "#2 0.50"]  # top 2 by score, not listing
    assert truth.spans[0].start == samples[0]["relevant_windows"][0][0]
    # every prediction track shows the ground truth behind it, and the model's saliency
    for track in (first, second):
        assert track.backdrop == [tuple(map(float, w)) for w in samples[0]["relevant_windows"]]
        curve = track.curve
        assert curve.kind == "model" and (curve.low, curve.high) == ("-1.5", "2.5")
        assert curve.values.min() == 0 and curve.values.max() == 1
        assert len(curve.values) == CLIPS
    assert truth.curve.kind == "annotated" and (truth.curve.low, truth.curve.high) == ("0", "4")
    legend = [text for row in legend_entries([panel], 10.0) for _, text in row]
    assert LEGEND["truth"] in legend and LEGEND["prediction"] in legend
    assert "model saliency (the query's min–max)" in legend
    assert "ground truth, behind predictions" in legend and LEGEND["negative"] not in legend

    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"qid": 10**9, "pred_relevant_windows": [[0, 2, 1.0]]}) + "\n")
    result = _show(*args[:6], "--qid", qids[0], "--predictions", str(other))
    assert result.exit_code == 1 and f"no prediction for qid {qids[0]}" in result.stderr


def test_overlapping_windows_get_their_own_lanes():
    spans = assign_lanes([Span(0, 10, "prediction"), Span(5, 15, "prediction"),
                          Span(10, 20, "prediction"), Span(6, 8, "prediction")])  # fmt: skip
    assert [s.lane for s in spans] == [0, 1, 0, 2]


ESCAPES = [
    "1=1; COPY (SELECT 42) TO '{target}'",
    "sample_id IN (SELECT 1 FROM read_csv('/etc/passwd'))",
    "1=1; ATTACH '{target}.db'",
    "1=1; INSTALL httpfs",
    "1=1; SET enable_external_access = true",
    "1=1; COPY (SELECT 42) TO '{part}'",
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_sql_can_only_read_the_corpus(corpus, tmp_path, escape):
    """`show --where` and `inspect --sql` run one SELECT over the corpus (and the source split),
    nothing else: no COPY, ATTACH, INSTALL, SET or other files; the corpus and the file system
    stay as they were."""
    root, part = corpus.root, corpus.part_paths()[0]
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    target = tmp_path / "leak.csv"
    where = escape.format(target=target, part=part)
    runner = CliRunner()
    shown = runner.invoke(
        cli, ["show", "--corpus", str(root), "--where", where, "--out", str(tmp_path / "x.png")]
    )
    query = f"SELECT sample_id FROM corpus WHERE {where}"
    inspected = runner.invoke(cli, ["inspect", "--corpus", str(root), "--sql", query])
    for result in (shown, inspected):
        assert result.exit_code == 1, result.output
        assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_labels_never_spill_out_of_narrow_bars():
    span = Span(0, 1, "prediction", "#1 0.93", "#1")
    assert fitting_text(span, 1.0) == "#1 0.93"
    assert fitting_text(span, 0.2) == "#1"  # only the rank fits
    assert fitting_text(span, 0.05) == ""  # nothing does
    assert fitting_text(Span(0, 1, "moment", "clips 49–52"), 0.3) == ""


def test_the_legend_wraps_to_the_sheet_and_names_only_what_is_drawn():
    tracks = [Track("t", [Span(0, 1, role) for role in LEGEND])]
    rows = legend_entries([Panel("p", 10, tracks)], width=4.0)
    assert len(rows) > 1 and sum(len(row) for row in rows) == len(LEGEND)
    only_host = legend_entries([Panel("p", 10, [Track("t", [Span(0, 1, "host")])])], 10.0)
    assert only_host == [[("host", LEGEND["host"])]]


def test_a_twelve_sample_sheet_is_a_grid(corpus, tmp_path):
    from PIL import Image

    sizes = {}
    for limit in (1, 12):
        out = tmp_path / f"{limit}.png"
        result = _show("--corpus", str(corpus.root), "--where", "kind = 'negative'", "--limit",
                       str(limit), "--out", str(out), "--quiet")  # fmt: skip
        assert result.exit_code == 0, result.output
        with Image.open(out) as image:
            sizes[limit] = image.size
    assert sizes[1][0] == 1100 and sizes[12][0] == 1700  # one column, then two
    assert sizes[12][1] < 6.5 * sizes[1][1]  # six rows of two, not twelve panels stacked
