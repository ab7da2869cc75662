"""A tiny randomly initialised CLIP and a few short synthetic videos with annotations: the whole
`amr features extract` path on a CPU in seconds, with nothing downloaded (tests, and trying the
pipeline before pointing it at real weights in your Hugging Face cache).

Each video is a grey background in which coloured squares (the "events") appear for a few
seconds; each query names its event's colour, and its window is where the square shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from amr.features.video import _av
from amr.fileio import building_directory, check_output_dir, write_json
from amr.writer_lock import one_writer

TINY_MARKER = "tiny-world.json"  # what `amr features tiny` wrote: the directory is amr's to replace
COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 80, 230)}


def write_tiny_clip(out: str | Path, seed: int = 0) -> Path:
    """A CLIP with 2-layer, 32-wide towers (24-d projections, 32×32 images) and a character
    vocabulary, saved as a Hugging Face model directory."""
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    for code in range(32, 127):
        vocab.setdefault(chr(code), len(vocab))
        vocab.setdefault(chr(code) + "</w>", len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    write_json(out / "vocab.json", vocab)
    (out / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(str(out / "vocab.json"), str(out / "merges.txt"))
    end = vocab["<|endoftext|>"]
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4}  # fmt: skip
    config = CLIPConfig(
        text_config={**tower, "vocab_size": len(vocab), "max_position_embeddings": 64,
                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": end,
                     "pad_token_id": end},
        vision_config={**tower, "image_size": 32, "patch_size": 8},
        projection_dim=24,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def write_videos(
    out: str | Path, n_videos: int = 4, seconds: float = 12.0, fps: int = 8, seed: int = 0
) -> list[dict]:
    """mp4 files (MPEG-4, 64×64) and one annotation per video in the QVHighlights format."""
    av = _av()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    annotations = []
    for v in range(n_videos):
        vid = f"video{v:03d}"
        colour = list(COLOURS)[v % len(COLOURS)]
        start = 2.0 * float(rng.integers(0, max(1, int(seconds) // 4)))  # on the 2-s grid
        end = min(seconds, start + 4.0)
        with av.open(str(out / f"{vid}.mp4"), "w") as container:
            stream = container.add_stream("mpeg4", rate=fps)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            for i in range(int(seconds * fps)):
                image = np.full((64, 64, 3), 110 + (i % 20), dtype=np.uint8)
                if start <= i / fps < end:
                    image[16:48, 16:48] = COLOURS[colour]
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        annotations.append(
            {"qid": v, "query": f"a {colour} square appears", "vid": vid, "duration": seconds,
             "relevant_windows": [[start, end]]}
        )  # fmt: skip
    return annotations


@one_writer(lambda call: call["out"])
def write_tiny_world(out: str | Path, n_videos: int = 6, seed: int = 0) -> Path:
    """`out/clip` (the model), `out/videos`, and `out/train.jsonl` / `out/val.jsonl`. A tiny
    world already at `out` is replaced whole; a directory holding anything else is refused."""
    out = Path(out)
    check_output_dir(
        out,
        TINY_MARKER,
        overwrite=True,
        refuse="exists and is not a tiny world amr wrote; refusing to write into it",
        replace="",
    )
    with building_directory(out) as staging:
        write_tiny_clip(staging / "clip", seed)
        rows = write_videos(staging / "videos", n_videos, seed=seed)
        half = max(1, len(rows) // 2)
        for name, part in (("train", rows[:half]), ("val", rows[half:])):
            (staging / f"{name}.jsonl").write_text(
                "".join(json.dumps(row) + "\n" for row in part), encoding="utf-8"
            )
        write_json(staging / TINY_MARKER, {"videos": n_videos, "seed": seed})
    return out
