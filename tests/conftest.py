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


def write_video_dir(root: Path, clips_of: dict[str, int], dim: int, layout: str, seed: int):
    """Feature files per video; layout 'npz' (Moment-DETR) or 'npy-k4' ((L, 4, dim/4), AMR)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for vid, n_clips in clips_of.items():
        x = rng.standard_normal((n_clips, dim)).astype(np.float32)
        arrays[vid] = x
        if layout == "npz":
            np.savez(root / f"{vid}.npz", features=x)
        elif layout == "npy-k4":
            np.save(root / f"{vid}.npy", x.reshape(n_clips, 4, dim // 4))
        else:
            raise ValueError(layout)
    return arrays


def write_text_dir(root: Path, tokens_of: dict[int, int], dim: int, layout: str, seed: int):
    """Feature files per query; layout 'npz' (qid{qid}.npz) or 'npy' ({qid}.npy)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for qid, n_tokens in tokens_of.items():
        x = rng.standard_normal((n_tokens, dim)).astype(np.float32)
        arrays[qid] = x
        if layout == "npz":
            np.savez(root / f"qid{qid}.npz", last_hidden_state=x, pooler_output=x[0])
        else:
            np.save(root / f"{qid}.npy", x)
    return arrays


def l2(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)
