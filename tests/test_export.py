"""`amr corpus export`: what the field's loaders read from an export is what amr trains on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from amr.augment import AugmentConfig, augment
from amr.cli import cli
from amr.corpus import Corpus, features_from_arrow
from amr.datasets import ImportConfig, Store, import_dataset
from amr.datasets.annotations import read_annotations
from amr.errors import AmrError
from amr.eval.ground_truth import ground_truth_from_table
from amr.export import ExportConfig, export_corpus
from amr.export.files import VideoFiles
from tests.conftest import l2, read_jsonl, write_jsonl, write_text_dir, write_video_dir

CLIP = 2.0
LONG = 90  # clips of the long videos: past the loaders' max_v_l of 75


@pytest.fixture(scope="module")
def built(tmp_path_factory, qvh_val):
    """A two-source QVHighlights store (slowfast 12-d, clip 16-d; some videos one clip short in
    clip, some 90 clips long) and its corpus, side by side as amr writes them."""
    root = tmp_path_factory.mktemp("export")
    rows = read_jsonl(qvh_val, limit=200)
    train = write_jsonl(root / "train.jsonl", rows[:150])
    val = write_jsonl(root / "val.jsonl", rows[150:])
    vids = list(dict.fromkeys(r["vid"] for r in rows))
    length = {vid: LONG if i % 17 == 3 else 75 for i, vid in enumerate(vids)}
    write_video_dir(root / "slowfast_features", length, 12, "npz", seed=0)
    short = {vid: n - 1 if i % 11 == 0 else n for i, (vid, n) in enumerate(length.items())}
    write_video_dir(root / "clip_features", short, 16, "npz", seed=1)
    texts = {r["qid"]: 3 + r["qid"] % 7 for r in rows}
    write_text_dir(root / "clip_text_features", texts, 8, "npz", seed=2)
    import_dataset(
        ImportConfig(
            dataset="qvhighlights",
            annotations=[("train", train), ("val", val)],
            video_features=[root / "slowfast_features", root / "clip_features"],
            text_features=root / "clip_text_features",
            out=root / "store",
        ),
        show_progress=False,
    )
    config = AugmentConfig(multiplier=2, seed=3, part_rows=128, row_group_rows=48)
    augment(root / "store", "train", root / "corpus", config, workers=1, show_progress=False)
    return root


@pytest.fixture(scope="module")
def exported(built):
    out = built / "md"
    export_corpus(ExportConfig(built / "corpus", out, "moment-detr"), show_progress=False)
    return out


def corpus_rows(root: Path) -> dict[int, tuple[dict, np.ndarray]]:
    """sample_id → (row, features) of every corpus row."""
    corpus = Corpus.open(root)
    found = {}
    for _, table in corpus.iter_tables():
        flat, offsets = features_from_arrow(table.column("features"), corpus.video_dim)
        for i, row in enumerate(table.drop_columns(["features", "recipe"]).to_pylist()):
            found[row["sample_id"]] = (row, flat[offsets[i] : offsets[i + 1]])
    return found


def test_export_layout_and_description(built, exported):
    description = json.loads((exported / "export.json").read_text())
    assert description["v_feat_dirs"] == [
        "features/slowfast_features",
        "features/clip_features",
    ]
    assert description["t_feat_dir"] == "features/clip_text_features"
    assert (description["v_feat_dim"], description["t_feat_dim"]) == (28, 8)
    assert description["eval"] == {"val": "data/val.jsonl"}
    assert description["train_parts"] == {
        "augmented": "data/train_augmented.jsonl",
        "real": "data/train_real.jsonl",
    }
    lines = read_jsonl(exported / description["train"])
    assert len(lines) == description["rows"]["written"] > 0
    assert len(lines) + description["rows"]["dropped"] == Corpus.open(built / "corpus").rows
    parts = [read_jsonl(exported / p) for p in description["train_parts"].values()]
    assert sorted(r["amr_sample_id"] for part in parts for r in part) == sorted(
        r["amr_sample_id"] for r in lines
    )
    vids = [r["vid"] for r in lines if r["kind"] != "original"]
    assert len(set(vids)) == len(vids)  # every synthetic row is its own video
    store = Store.open(built / "store")
    assert not any(vid in store.videos for vid in vids)
    for line in lines:  # text features are the source query's, found by its qid
        assert (exported / description["t_feat_dir"] / f"qid{line['qid']}.npz").is_file()
    readme = (exported / "README.md").read_text()
    assert "--v_feat_dim 28" in readme and "--resume" in readme and "--t_feat_dim 8" in readme


def test_round_trip_through_import_gives_back_every_row(built, exported):
    """Import the export as the field's files; every row's features and windows come back."""
    description = json.loads((exported / "export.json").read_text())
    imported = built / "round-trip"
    import_dataset(
        ImportConfig(
            dataset="qvhighlights",
            annotations=[("train", exported / description["train"])],
            video_features=[exported / d for d in description["v_feat_dirs"]],
            text_features=exported / description["t_feat_dir"],
            out=imported,
            normalize=False,
        ),
        show_progress=False,
    )
    store = Store.open(imported)
    back = store.samples("train").to_pylist()
    ids = [line["amr_sample_id"] for line in read_jsonl(exported / description["train"])]
    rows = corpus_rows(built / "corpus")
    assert len(back) == len(ids)
    for sample_id, got in zip(ids, back, strict=True):
        row, features = rows[sample_id]
        np.testing.assert_array_equal(store.video_features(got["vid"]), features)
        ours = np.asarray(row["relevant_windows"]) / row["duration"]
        theirs = np.asarray(got["relevant_windows"]) / got["duration"]
        np.testing.assert_allclose(theirs, ours, atol=1e-6)
        if abs(row["duration"] - row["n_clips"] * CLIP) < 1e-6:
            assert got["relevant_windows"] == row["relevant_windows"]
        # clip ids past the video's last clip (QVHighlights labels clip 74 of 74-clip videos)
        # are dropped: CG-DETR indexes a per-clip array with them
        assert got["relevant_clip_ids"] == [
            c for c in row["relevant_clip_ids"] if c < row["n_clips"]
        ]

    # Imported as usual (each folder L2-normalised, as the loaders do): the store's features,
    # which the importer normalised per source, come back within float16.
    default = built / "round-trip-normalised"
    import_dataset(
        ImportConfig(
            dataset="qvhighlights",
            annotations=[("val", exported / description["eval"]["val"])],
            video_features=[exported / d for d in description["v_feat_dirs"]],
            text_features=exported / description["t_feat_dir"],
            out=default,
        ),
        show_progress=False,
    )
    source, again = Store.open(built / "store"), Store.open(default)
    for vid in list(again.videos.keys())[:20]:
        np.testing.assert_allclose(
            again.video_features(vid).astype(np.float32),
            source.video_features(vid).astype(np.float32),
            atol=2e-3,
        )


def test_every_row_obeys_the_loaders_rule(built, exported):
    """Normalised the way the loaders do it (by the clip count of the concatenated, max_v_l-cut
    folders × clip length), every window is the corpus row's window / duration."""
    description = json.loads((exported / "export.json").read_text())
    max_v_l = description["max_v_l"]
    rows = corpus_rows(built / "corpus")
    over = 0
    for line in read_jsonl(exported / description["train"]):
        row, _ = rows[line["amr_sample_id"]]
        files = [np.load(exported / d / f"{line['vid']}.npz") for d in description["v_feat_dirs"]]
        n = min(len(f["features"]) for f in files)
        assert n == row["n_clips"]
        assert line["duration"] == pytest.approx(n * CLIP)
        ids = line["relevant_clip_ids"]
        assert ids == [c for c in row["relevant_clip_ids"] if c < n] and max(ids) < n
        assert len(line["saliency_scores"]) == len(ids)
        if n > max_v_l:
            over += 1
            continue
        ctx_l = min(len(f["features"][:max_v_l]) for f in files)
        loader = np.asarray(line["relevant_windows"]) / (ctx_l * CLIP)
        np.testing.assert_allclose(
            loader, np.asarray(row["relevant_windows"]) / row["duration"], atol=1e-6
        )
    assert over == description["rows"]["over_max_v_l"] > 0


def test_each_source_has_its_own_folder_in_the_targets_order(built, tmp_path):
    store = Store.open(built / "store")
    out = tmp_path / "lh"
    summary = export_corpus(
        ExportConfig(built / "corpus", out, "lighthouse", rows="augmented"), show_progress=False
    )
    description = json.loads((out / "export.json").read_text())
    # lighthouse concatenates CLIP before SlowFast; its v_feat_dim counts the TEF columns
    assert description["v_feat_dirs"] == [
        "features/qvhighlight/clip",
        "features/qvhighlight/slowfast",
    ]
    assert description["trainer_v_feat_dim"] == 30
    assert "v_feat_dim: 30" in (out / "lighthouse.yml").read_text()
    assert summary.files == {
        "train": "data/qvhighlight/train.jsonl",
        "val": "data/qvhighlight/val.jsonl",
    }
    lines = read_jsonl(out / "data/qvhighlight/val.jsonl")
    vid = lines[0]["vid"]
    whole = store.video_features(vid)
    clip = np.load(out / "features/qvhighlight/clip" / f"{vid}.npz")["features"]
    slowfast = np.load(out / "features/qvhighlight/slowfast" / f"{vid}.npz")["features"]
    np.testing.assert_array_equal(clip, whole[:, 12:])
    np.testing.assert_array_equal(slowfast, whole[:, :12])
    assert all(r["kind"] != "original" for r in read_jsonl(out / "data/qvhighlight/train.jsonl"))

    out = tmp_path / "univtg"
    export_corpus(ExportConfig(built / "corpus", out, "univtg", rows="real"), show_progress=False)
    description = json.loads((out / "export.json").read_text())
    assert description["v_feat_dirs"] == [
        "data/qvhighlights/vid_slowfast",
        "data/qvhighlights/vid_clip",
    ]
    text = np.load(out / "data/qvhighlights/txt_clip" / f"{lines[0]['qid']}.npz")
    tokens = store.text_features(lines[0]["qid"])
    np.testing.assert_array_equal(text["last_hidden_state"], tokens)
    pooled = l2(tokens.astype(np.float32).mean(axis=0))
    np.testing.assert_allclose(text["pooler_output"].astype(np.float32), pooled, atol=2e-3)


def test_bad_inputs_are_one_line_and_write_nothing(built, exported, tmp_path):
    runner = CliRunner()
    corpus = str(built / "corpus")

    def run(*args: str):
        return runner.invoke(cli, ["corpus", "export", "--corpus", corpus, "--quiet", *args])

    result = run("--format", "detr2", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2 and "detr2" in result.output
    with pytest.raises(AmrError, match="unknown export format 'detr2'"):
        export_corpus(ExportConfig(built / "corpus", tmp_path / "a", "detr2"))

    moved = tmp_path / "alone" / "corpus"
    shutil.copytree(built / "corpus", moved)
    result = runner.invoke(
        cli,
        [
            "corpus",
            "export",
            "--corpus",
            str(moved),
            "--format",
            "univtg",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 1
    assert (
        result.output.count("\n") == 1
        and "no directory beside it is that store; pass --store" in result.output
    )

    old = tmp_path / "old-store"
    shutil.copytree(built / "store", old)
    meta = json.loads((old / "store.json").read_text())
    del meta["video_sources"], meta["text_source"]
    (old / "store.json").write_text(json.dumps(meta))
    result = run("--format", "moment-detr", "--store", str(old), "--out", str(tmp_path / "c"))
    assert result.exit_code == 1 and "re-import it with amr datasets import" in result.output

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = run("--format", "moment-detr", "--out", str(foreign), "--overwrite")
    assert result.exit_code == 1 and "holds files amr did not export" in result.output
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone", "mine", "old-store"]


def test_an_interrupted_export_keeps_the_old_one_and_resumes(built, tmp_path, monkeypatch):
    out = tmp_path / "md"
    config = ExportConfig(built / "corpus", out, "moment-detr", eval_splits=())
    export_corpus(config, show_progress=False)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(AmrError, match="pass --overwrite to replace it"):
        export_corpus(config, show_progress=False)

    calls = {"n": 0}
    original = VideoFiles.write

    def crash_later(self, vid, features):
        calls["n"] += 1
        if calls["n"] == 200:
            raise KeyboardInterrupt
        return original(self, vid, features)

    monkeypatch.setattr(VideoFiles, "write", crash_later)
    again = ExportConfig(**{**config.__dict__, "overwrite": True})
    with pytest.raises(KeyboardInterrupt):
        export_corpus(again, show_progress=False)
    monkeypatch.setattr(VideoFiles, "write", original)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    assert (tmp_path / ".md.exporting").is_dir()
    other = ExportConfig(**{**config.__dict__, "rows": "real", "resume": True, "overwrite": True})
    with pytest.raises(AmrError, match="of another corpus or other options"):
        export_corpus(other, show_progress=False)

    export_corpus(ExportConfig(**{**again.__dict__, "resume": True}), show_progress=False)
    assert not (tmp_path / ".md.exporting").exists()
    resumed = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert resumed == first


def test_a_split_that_reuses_qids_cannot_be_evaluated(exported):
    table, _ = read_annotations(exported / "data/train.jsonl", CLIP)
    assert len(set(table["qid"].to_pylist())) < table.num_rows
    with pytest.raises(AmrError, match="evaluation needs one row per query"):
        ground_truth_from_table(table, "exported train", CLIP)
