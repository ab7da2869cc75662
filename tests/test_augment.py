"""`amr augment` end to end on a small synthetic store: labels, determinism, shards, resume,
verification and bad input."""

import itertools
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import corpus_bytes

from amr.augment import AugmentConfig, Shard, augment, materialize, merge
from amr.augment import run as run_module
from amr.augment.run import make_generator
from amr.augment.sources import read_split
from amr.corpus import Corpus, features_from_arrow, recipes_from_arrow, verify
from amr.corpus.parts import write_part
from amr.datasets import Store
from amr.errors import AmrError

CONFIG = AugmentConfig(multiplier=4, seed=7, part_rows=96, row_group_rows=32)


@pytest.fixture(scope="module")
def corpus(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "full"
    augment(small_store, "train", out, CONFIG, workers=1, show_progress=False)
    return out


def _rows(root):
    corpus = Corpus.open(root)
    for _, table in corpus.iter_tables():
        features = features_from_arrow(table.column("features"), corpus.video_dim)
        recipes = recipes_from_arrow(table.column("recipe"))
        for i, row in enumerate(table.drop_columns(["features", "recipe"]).to_pylist()):
            rows, offsets = features
            yield row, recipes[i], rows[offsets[i] : offsets[i + 1]]


def test_corpus_has_every_real_sample_and_multiplier_augmented_ones(corpus, small_store):
    store = Store.open(small_store)
    split = store.samples("train").to_pylist()
    manifest = Corpus.open(corpus).manifest
    assert manifest["kinds"]["original"] == len(split)
    assert sum(manifest["kinds"].values()) == len(split) * (1 + CONFIG.multiplier)
    assert set(manifest["kinds"]) == {"original", "splice", "boundary", "negative"}
    originals = {r["qid"]: r for r, _, _ in _rows(corpus) if r["kind"] == "original"}
    for sample in split:
        row = originals[sample["qid"]]
        assert row["host_vid"] == sample["vid"] and row["query"] == sample["query"]
        assert row["relevant_windows"] == sample["relevant_windows"]
        assert row["relevant_clip_ids"] == sample["relevant_clip_ids"]
        assert row["saliency_scores"] == sample["saliency_scores"]


def test_labels_are_exact(corpus, small_store):
    store = Store.open(small_store)
    split = {r["qid"]: r for r in store.samples("train").to_pylist()}
    checked = 0
    for row, recipe, features in _rows(corpus):
        assert len(features) == row["n_clips"] == store.n_clips(row["host_vid"])
        windows = row["relevant_windows"] + row["negative_windows"]
        spans = sorted((s, e) for s, e in windows)
        assert all(0 <= s < e <= row["duration"] for s, e in spans)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no overlaps
        if row["kind"] == "original":
            continue
        donor = split[row["qid"]]
        assert row["host_vid"] != donor["vid"]
        ids = [
            c for s, e in row["relevant_windows"] for c in range(int(s // 2), int(np.ceil(e / 2)))
        ]
        assert row["relevant_clip_ids"] == ids
        assert len(row["saliency_scores"]) == len(ids)
        donor_scores = dict(zip(donor["relevant_clip_ids"], donor["saliency_scores"], strict=False))
        donor_video = store.video_features(donor["vid"])
        for paste in recipe[1:]:
            target = range(paste.target_start, paste.target_end)
            labeled = [t for t in target if t in ids]
            if paste.vid == donor["vid"] and labeled and row["boundary_sharpness"] == 0:
                # pasted clips equal the donor's clips that the recipe names …
                np.testing.assert_array_equal(
                    features[labeled],
                    donor_video[paste.clips[[t - paste.target_start for t in labeled]]],
                )
                # … which lie inside the donor's windows, and carry their saliency
                for t in labeled:
                    clip = int(paste.clips[t - paste.target_start])
                    assert row["saliency_scores"][ids.index(t)] == donor_scores[clip]
                    checked += 1
        # same-video negatives (the default, in every augmented row): the donor's wrong spans
        wrong_clips = {c for s, e in donor["wrong_spans"] for c in range(int(s // 2), int(e // 2))}
        window_clips = set(donor["relevant_clip_ids"])
        for paste in recipe[1:]:
            assert paste.vid == donor["vid"]
            assert set(paste.clips.tolist()) <= wrong_clips | window_clips
        if row["negative_windows"]:
            assert -1 <= row["negative_similarity"] <= 1
        if row["kind"] == "negative" and donor["wrong_spans"]:
            assert row["negative_windows"]
        if row["kind"] == "boundary":
            assert row["boundary_sharpness"] in CONFIG.fade_clips
    assert checked > 1000


def test_nearest_query_negatives_paste_other_queries_windows(small_store, tmp_path):
    config = replace(CONFIG, negatives="nearest-query", multiplier=2)
    store_copy = tmp_path / "store"  # the neighbour cache it writes stays out of the shared one
    shutil.copytree(small_store, store_copy)
    augment(store_copy, "train", tmp_path / "c", config, show_progress=False)
    store = Store.open(store_copy)
    split = {r["qid"]: r for r in store.samples("train").to_pylist()}
    negatives = 0
    for row, recipe, _ in _rows(tmp_path / "c"):
        if row["kind"] == "negative" and row["negative_windows"]:
            negatives += 1
            assert 0 < row["negative_similarity"] <= config.negative_max_similarity
            assert any(p.vid != split[row["qid"]]["vid"] for p in recipe[1:])
        elif row["kind"] in ("splice", "boundary"):
            assert row["negative_windows"] == []  # only negative rows carry them
    assert negatives > 10


def test_rows_are_in_difficulty_order_with_equal_bins(corpus):
    table = pq.read_table(
        sorted(corpus.glob("part-*.parquet")), columns=["difficulty", "curriculum_bin", "sample_id"]
    )
    difficulty = table.column("difficulty").to_numpy()
    bins = table.column("curriculum_bin").to_numpy()
    assert np.all(np.diff(difficulty) >= 0) and np.all(np.diff(bins) >= 0)
    assert difficulty.min() >= 0 and difficulty.max() <= 1
    counts = np.bincount(bins)
    assert len(counts) == CONFIG.curriculum_bins and counts.max() - counts.min() <= 1
    assert len(np.unique(table.column("sample_id"))) == table.num_rows


def test_corpus_is_byte_identical_for_any_workers_and_for_shards_plus_merge(
    corpus, small_store, tmp_path
):
    augment(small_store, "train", tmp_path / "w2", CONFIG, workers=2, show_progress=False)
    assert corpus_bytes(tmp_path / "w2") == corpus_bytes(corpus)
    # three shards in their own directories, merged into a fourth
    for k in range(3):
        summary = augment(
            small_store, "train", tmp_path / f"s{k}", CONFIG, shard=Shard(k, 3), show_progress=False
        )
        assert not summary.complete
    with pytest.raises(AmrError, match="not a corpus"):
        Corpus.open(tmp_path / "s0")
    merge(tmp_path / "merged", [tmp_path / f"s{k}" for k in range(3)])
    assert corpus_bytes(tmp_path / "merged") == corpus_bytes(corpus)
    # two shards writing into the same directory, merged in place
    for k in range(2):
        augment(
            small_store, "train", tmp_path / "same", CONFIG, shard=Shard(k, 2), show_progress=False
        )
    merge(tmp_path / "same")
    assert corpus_bytes(tmp_path / "same") == corpus_bytes(corpus)


def test_merge_refuses_a_missing_shard(small_store, tmp_path):
    augment(small_store, "train", tmp_path / "s", CONFIG, shard=Shard(0, 2), show_progress=False)
    with pytest.raises(AmrError, match="shard 1/2 is missing"):
        merge(tmp_path / "s")


def test_interrupted_run_resumes_to_the_same_bytes(corpus, small_store, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_write = run_module.write_augmented_part
    calls = []

    def crash_on_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if killed
        return real_write(*args)

    monkeypatch.setattr(run_module, "write_augmented_part", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        augment(small_store, "train", out, CONFIG, workers=1, show_progress=False)
    monkeypatch.setattr(run_module, "write_augmented_part", real_write)
    assert sorted(p.name for p in out.glob("part-*")) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    (out / ".part-00002.parquet.x.tmp").write_bytes(b"half a part")  # what a SIGKILL leaves
    with pytest.raises(AmrError, match="not a corpus"):
        Corpus.open(out)
    with pytest.raises(AmrError, match="--resume"):
        augment(small_store, "train", out, CONFIG, show_progress=False)
    summary = augment(small_store, "train", out, CONFIG, resume=True, show_progress=False)
    assert summary.parts_skipped == 2
    assert corpus_bytes(out) == corpus_bytes(corpus)
    with pytest.raises(AmrError, match="different store, split or config"):
        shutil.rmtree(out)
        augment(small_store, "train", out, CONFIG, shard=Shard(0, 2), show_progress=False)
        augment(
            small_store,
            "train",
            out,
            AugmentConfig(multiplier=2),
            shard=Shard(1, 2),
            show_progress=False,
        )


def test_recipes_only_materializes_to_the_full_corpus(corpus, small_store, tmp_path):
    config = AugmentConfig(**{**CONFIG.__dict__, "recipes_only": True})
    augment(small_store, "train", tmp_path / "recipes", config, workers=2, show_progress=False)
    recipes = Corpus.open(tmp_path / "recipes")
    assert recipes.recipes_only and "features" not in pq.read_schema(recipes.part_paths()[0]).names
    size = sum(p.bytes for p in recipes.parts)
    assert size < sum(p.bytes for p in Corpus.open(corpus).parts) / 3
    materialize(
        tmp_path / "recipes", small_store, tmp_path / "full", workers=2, show_progress=False
    )
    assert corpus_bytes(tmp_path / "full") == corpus_bytes(corpus)


def test_materialize_refuses_other_features(tmp_path, small_store):
    from amr.datasets import SynthConfig, synthesize

    other = tmp_path / "other"
    synthesize(
        other,
        SynthConfig.from_preset(
            "demo", train_videos=60, val_videos=8, test_videos=4, video_dim=48, text_dim=32, seed=1
        ),
        show_progress=False,
    )
    config = AugmentConfig(multiplier=1, recipes_only=True)
    augment(small_store, "train", tmp_path / "recipes", config, show_progress=False)
    with pytest.raises(AmrError, match="fingerprint"):
        materialize(tmp_path / "recipes", other, tmp_path / "full", show_progress=False)
    assert not (tmp_path / "full").exists()


def test_verify_passes_a_good_corpus_and_catches_a_flipped_byte(corpus, small_store, tmp_path):
    report = verify(corpus, small_store, show_progress=False)
    assert report.ok and report.checked_features and report.rows == Corpus.open(corpus).rows
    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    part = copy / "part-00001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    report = verify(copy, show_progress=False)
    assert report.problems == [
        "part-00001.parquet: checksum does not match manifest.json (changed or corrupt)"
    ]


def _rewrite_part(copy, path, table):
    """Write a changed part and give the manifest its new checksum: a tampered corpus that
    passes the byte check."""
    from amr.fileio import checksum_file

    write_part(path, table, CONFIG.row_group_rows)
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["parts"]:
        if entry["file"] == path.name:
            entry["checksum"], entry["bytes"] = checksum_file(path), path.stat().st_size
    (copy / "manifest.json").write_text(json.dumps(manifest))


def test_verify_catches_a_tampered_recipe_even_with_a_fixed_checksum(corpus, small_store, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    path = copy / "part-00002.parquet"
    table = pq.read_table(path)
    recipes = table.column("recipe").to_pylist()
    row = next(i for i, r in enumerate(recipes) if len(r) > 1)
    recipes[row][1]["clips"] = [c + 1 for c in recipes[row][1]["clips"]]  # shift a paste by a clip
    table = table.set_column(
        table.schema.get_field_index("recipe"),
        "recipe",
        __import__("pyarrow").array(recipes, table.schema.field("recipe").type),
    )
    _rewrite_part(copy, path, table)
    edited = f"{path.name}: label columns differ from manifest.json's digest"
    assert [p[: len(edited)] for p in verify(copy, show_progress=False).problems] == [edited]
    problems = verify(copy, small_store, show_progress=False).problems  # the store says where
    assert len(problems) == 2 and f"{path.name} row {row}" in problems[1]


def test_verify_catches_a_tampered_window_even_with_a_fixed_checksum(corpus, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    path = copy / "part-00001.parquet"
    table = pq.read_table(path)
    windows = table.column("relevant_windows").to_pylist()
    durations = table.column("duration").to_pylist()
    row = next(i for i, w in enumerate(windows) if w[0][0] >= 4.0)
    windows[row][0] = [windows[row][0][0] - 4.0, windows[row][0][1] - 4.0]  # two clips earlier
    assert 0 <= windows[row][0][0] < windows[row][0][1] <= durations[row]  # still plausible
    column = table.schema.get_field_index("relevant_windows")
    table = table.set_column(
        column, table.schema.field(column),
        __import__("pyarrow").array(windows, table.schema.field(column).type),
    )  # fmt: skip
    _rewrite_part(copy, path, table)
    problems = verify(copy, show_progress=False).problems
    assert problems == [
        f"{path.name}: label columns differ from manifest.json's digest (edited after the corpus "
        "was written)",
        f"{path.name} row {row} (sample {table.column('sample_id')[row].as_py()}): "
        "relevant_clip_ids do not match relevant_windows",
    ]


@pytest.mark.parametrize(
    "column",
    ["qid", "query", "saliency_scores", "difficulty", "curriculum_bin", "negative_windows"],
)
def test_verify_catches_an_edited_label_even_with_a_fixed_checksum(corpus, tmp_path, column):
    import pyarrow as pa

    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    path = copy / "part-00001.parquet"
    table = pq.read_table(path)
    values = table.column(column).to_pylist()
    row = next(i for i, v in enumerate(values) if v)  # a row with something to edit
    edit = {
        "qid": lambda v: v + 1,
        "query": lambda v: v + " (edited)",
        "saliency_scores": lambda v: [[4 - s for s in clip] for clip in v],
        "difficulty": lambda v: v + 1e-6,  # still in order
        "curriculum_bin": lambda v: v + 1,
        "negative_windows": lambda v: [[s, e - 0.5] for s, e in v],
    }[column]
    values[row] = edit(values[row])
    index = table.schema.get_field_index(column)
    table = table.set_column(
        index, table.schema.field(index), pa.array(values, table.schema.field(index).type)
    )
    _rewrite_part(copy, path, table)
    problems = verify(copy, show_progress=False).problems
    assert any("label columns differ from manifest.json's digest" in p for p in problems), problems


def test_checksums_name_their_algorithm(corpus, tmp_path):
    from amr.fileio import checksum_file

    manifest = json.loads((corpus / "manifest.json").read_text())
    assert all(p["checksum"].startswith("xxh3_128:") for p in manifest["parts"])
    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    for entry in manifest["parts"]:  # a sha256 manifest (e.g. from a hub) verifies as well
        entry["checksum"] = checksum_file(copy / entry["file"], "sha256")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert verify(copy, show_progress=False).ok
    manifest["parts"][1]["checksum"] = "md5:0123"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AmrError, match=r"part-00001\.parquet: unknown checksum 'md5:0123'"):
        Corpus.open(copy)


def test_a_manifest_cannot_point_outside_the_corpus(corpus, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(corpus, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["parts"][0]["file"] = "../../etc/passwd"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AmrError, match=r"is not part-NNNNN\.parquet"):
        Corpus.open(copy)


def test_bad_inputs_are_clear_errors_that_leave_output_alone(corpus, small_store, tmp_path):
    with pytest.raises(AmrError, match="not a store"):
        augment(tmp_path / "nowhere", "train", tmp_path / "x", CONFIG, show_progress=False)
    with pytest.raises(AmrError, match="no split 'holdout'"):
        augment(small_store, "holdout", tmp_path / "x", CONFIG, show_progress=False)
    assert not (tmp_path / "x").exists()
    before = corpus_bytes(corpus)
    with pytest.raises(AmrError, match="already exists"):
        augment(small_store, "train", corpus, CONFIG, show_progress=False)
    with pytest.raises(AmrError, match="no split"):
        augment(small_store, "nope", corpus, CONFIG, overwrite=True, show_progress=False)
    assert corpus_bytes(corpus) == before


def test_overwrite_keeps_the_corpus_until_its_replacement_is_complete(
    corpus, small_store, tmp_path, monkeypatch
):
    import errno
    import shutil

    from amr.augment import run as run_module

    old = tmp_path / "corpus"
    shutil.copytree(corpus, old)
    before = corpus_bytes(old)
    other = AugmentConfig(multiplier=2, seed=3, part_rows=96, row_group_rows=32)
    real_write = run_module.write_augmented_part

    def failing(error: BaseException, after: int):
        calls = {"n": 0}

        def write(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > after:
                raise error
            return real_write(*args, **kwargs)

        return write

    def replace(**flags):
        augment(small_store, "train", old, other, overwrite=True, show_progress=False, **flags)

    monkeypatch.setattr(
        run_module, "write_augmented_part", failing(OSError(errno.ENOSPC, "full"), 1)
    )
    with pytest.raises(OSError, match="full"):  # the disk fills while writing the second part
        replace()
    assert corpus_bytes(old) == before
    monkeypatch.setattr(run_module, "write_augmented_part", failing(KeyboardInterrupt(), 1))
    with pytest.raises(KeyboardInterrupt):  # a kill part-way
        replace()
    assert corpus_bytes(old) == before
    monkeypatch.setattr(run_module, "write_augmented_part", real_write)
    replace(resume=True)  # finishes the replacement cut short, which then takes the old's place
    fresh = tmp_path / "fresh"
    augment(small_store, "train", fresh, other, show_progress=False)
    assert corpus_bytes(old) == corpus_bytes(fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "fresh"]


def test_store_and_corpus_are_readable_by_others(corpus, small_store):
    """Temporary files start owner-only; what is renamed into place must not stay so."""
    for root in (corpus, small_store):
        assert root.stat().st_mode & 0o055 == 0o055
        for path in root.iterdir():
            if path.is_file():
                assert path.stat().st_mode & 0o044 == 0o044, path


def test_store_caches_change_speed_not_bytes(small_store, tmp_path):
    config = replace(CONFIG, negatives="nearest-query")  # which also caches the neighbours
    warm = tmp_path / "warm"
    shutil.copytree(small_store, warm)
    augment(warm, "train", tmp_path / "first", config, show_progress=False)
    cached = sorted(p.name.split("-")[0] for p in (warm / ".amr-cache").iterdir())
    assert cached == ["neighbours", "sketches"]  # written by the first run
    fresh, broken = tmp_path / "fresh", tmp_path / "broken"
    shutil.copytree(warm, fresh)
    shutil.rmtree(fresh / ".amr-cache")
    shutil.copytree(warm, broken)
    for path in (broken / ".amr-cache").iterdir():
        path.write_bytes(path.read_bytes()[:100])  # a truncated cache is recomputed
    runs = {}
    for name, store in (("cached", warm), ("fresh", fresh), ("broken", broken)):
        out = tmp_path / f"corpus-{name}"
        augment(store, "train", out, config, show_progress=False)
        runs[name] = {k: v for k, v in corpus_bytes(out).items() if k != "README.md"}
    assert runs["cached"] == runs["fresh"] == runs["broken"]
    assert {p.name for p in (fresh / ".amr-cache").iterdir()} == {
        p.name for p in (warm / ".amr-cache").iterdir()
    }


def test_a_row_does_not_depend_on_the_batch_it_is_generated_in(small_store, tmp_path):
    store = Store.open(small_store)
    index = read_split(store, "train")
    generator = make_generator(store, index, CONFIG, tmp_path / "pool.f16")
    ids = np.random.default_rng(0).permutation(generator.n_samples)[:200]
    together = generator.table(generator.rows(ids))
    for i in (0, 57, 199):
        alone = generator.table(generator.rows(ids[i : i + 1]))
        assert alone.equals(together.slice(i, 1))
    np.testing.assert_array_equal(generator.components(ids[::-1]), generator.components(ids)[::-1])


def test_cross_fades_are_half_way_at_the_labeled_boundaries(corpus):
    faded = 0
    for row, recipe, _ in _rows(corpus):
        if row["boundary_sharpness"] == 0:
            continue
        for paste in recipe[1:]:
            weights = dict(
                zip(range(paste.target_start, paste.target_end), paste.alpha, strict=True)
            )
            for start, _end in row["relevant_windows"]:
                first = round(start / 2)
                if first - 1 in weights and first in weights:  # a boundary inside this paste
                    assert weights[first - 1] + weights[first] == pytest.approx(1.0)
                    assert weights[first] > 0.5
                    faded += 1
    assert faded > 20


def test_workers_die_with_a_killed_parent(tmp_path):
    """A SIGKILLed `amr augment` leaves no worker processes behind (Linux)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "slow.py"
    script.write_text(
        "import time\n"
        "from amr.augment.workers import parallel_map\n"
        "def slow(x):\n"
        "    time.sleep(60)\n"
        "for _ in parallel_map(slow, [1, 2], None, 2):\n"
        "    pass\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    children_file = Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
    children: list[int] = []
    for _ in range(100):  # the pool's two workers
        children = [int(c) for c in children_file.read_text().split()]
        if len(children) == 2:
            break
        time.sleep(0.05)
    assert len(children) == 2
    time.sleep(0.3)  # the workers are past their start-up
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False

    deadline = time.time() + 5
    while any(running(c) for c in children) and time.time() < deadline:
        time.sleep(0.05)
    alive = [c for c in children if running(c)]
    for pid in alive:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not alive


def _spelt_ops(path: Path) -> None:
    body = json.loads(path.read_text())
    body["config"]["ops"] = body["config"].pop("kinds")
    path.write_text(json.dumps(body))


def test_corpora_that_name_their_kinds_ops_resume_as_theirs(corpus, small_store, tmp_path,
                                                             monkeypatch):  # fmt: skip
    """Corpora written before `ops` became `kinds` (shared ones among them) say `ops` in their
    manifest and run state: they read, and resume, as the same config."""
    from amr.augment.manifest import WORK_DIR

    out = tmp_path / "run"
    real_write, calls = run_module.write_augmented_part, []

    def crash_on_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write(*args)

    monkeypatch.setattr(run_module, "write_augmented_part", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        augment(small_store, "train", out, CONFIG, workers=1, show_progress=False)
    monkeypatch.setattr(run_module, "write_augmented_part", real_write)
    _spelt_ops(out / WORK_DIR / "run.json")
    summary = augment(small_store, "train", out, CONFIG, resume=True, show_progress=False)
    assert summary.parts_skipped == 1 and corpus_bytes(out) == corpus_bytes(corpus)
    _spelt_ops(out / "manifest.json")
    again = augment(small_store, "train", out, CONFIG, resume=True, show_progress=False)
    assert again.already_done
    assert AugmentConfig.from_json(Corpus.open(out).manifest["config"]) == CONFIG
