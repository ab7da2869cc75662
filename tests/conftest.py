"""Shared fixtures: the real annotation files in ../shared/data and generated feature dirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("AMR_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = shared_data_dir()
    if not (root / "qvhighlights").is_dir():
        pytest.fail(f"real annotation files not found at {root}; set AMR_DATA_DIR")
    return root


@pytest.fixture(scope="session")
def qvh_val(data_dir: Path) -> Path:
    return data_dir / "qvhighlights" / "highlight_val_release.jsonl"


@pytest.fixture(scope="session")
def qvh_test(data_dir: Path) -> Path:
    return data_dir / "qvhighlights" / "highlight_test_release.jsonl"


@pytest.fixture(scope="session")
def charades_val(data_dir: Path) -> Path:
    return data_dir / "charades-sta" / "charades_sta_val_tvr_format.jsonl"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path) as f:
        for line in f:
            rows.append(json.loads(line))
            if limit is not None and len(rows) == limit:
                break
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _write_feature_dir(root: Path, rows_of: dict, dim: int, seed: int, save) -> dict:
    """Random float32 (rows, dim) matrices, one file per id via save(root, id, matrix)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for key, n_rows in rows_of.items():
        arrays[key] = rng.standard_normal((n_rows, dim)).astype(np.float32)
        save(root, key, arrays[key])
    return arrays


VIDEO_LAYOUTS = {
    # Moment-DETR: slowfast_features/{vid}.npz, key "features".
    "npz": lambda root, vid, x: np.savez(root / f"{vid}.npz", features=x),
    # AMR / R2-Tuning: clip_b32_vid_k4/{vid}.npy, (L, 4, dim/4).
    "npy-k4": lambda root, vid, x: np.save(root / f"{vid}.npy", x.reshape(len(x), 4, -1)),
}
TEXT_LAYOUTS = {
    "npz": lambda root, qid, x: np.savez(
        root / f"qid{qid}.npz", last_hidden_state=x, pooler_output=x[0]
    ),
    "npy": lambda root, qid, x: np.save(root / f"{qid}.npy", x),
}


def write_video_dir(root: Path, clips_of: dict[str, int], dim: int, layout: str, seed: int):
    return _write_feature_dir(root, clips_of, dim, seed, VIDEO_LAYOUTS[layout])


def write_text_dir(root: Path, tokens_of: dict[int, int], dim: int, layout: str, seed: int):
    return _write_feature_dir(root, tokens_of, dim, seed, TEXT_LAYOUTS[layout])


def l2(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture(scope="session")
def small_store(tmp_path_factory) -> Path:
    """A small synthetic store (60 train videos) for augmentation tests."""
    from amr.datasets import SynthConfig, synthesize

    out = tmp_path_factory.mktemp("augment") / "store"
    config = SynthConfig.from_preset(
        "demo", train_videos=60, val_videos=8, test_videos=4, video_dim=48, text_dim=32
    )
    synthesize(out, config, show_progress=False)
    return out


def corpus_bytes(root: Path) -> dict[str, bytes]:
    """Every file of a corpus directory by name (to compare two corpora byte for byte)."""
    return {p.name: p.read_bytes() for p in sorted(Path(root).iterdir()) if p.is_file()}


def loss_batch(video_mask, text_mask, targets, saliency_pos, saliency_neg, levels):
    """An amr.train.batch.Batch holding what the losses read; features left empty."""
    import torch

    from amr.train.batch import Batch

    n, length = video_mask.shape
    return Batch(
        video=torch.zeros(n, length, 0), video_mask=video_mask,
        text=torch.zeros(n, text_mask.shape[1], 0), text_mask=text_mask,
        spans=torch.cat(list(targets)), span_counts=torch.tensor([len(t) for t in targets]),
        saliency_levels=levels, negative_clips=torch.zeros(n, length, dtype=torch.bool),
        saliency_pos=saliency_pos, saliency_neg=saliency_neg,
        sample_id=torch.arange(n), qid=torch.arange(n), duration=torch.full((n,), float(length)),
        first_clip=torch.zeros(n, dtype=torch.long),
    )  # fmt: skip
