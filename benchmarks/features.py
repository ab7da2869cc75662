"""`amr features extract` speed on the CPU with the tiny random CLIP (32×32 images, 2-layer
towers): 24 synthetic 60-s videos at 25 fps (64×64 MPEG-4), 2 s clips, 2 frames a clip.

Timed: decoding alone (every video, one thread), encoding alone (the decoded frames, batches
of 64), and the whole command (decode threads overlapping the encoder, then the store import).
With real CLIP weights the encoder dominates instead; on a GPU it runs under bf16 autocast.
"""

from __future__ import annotations

import json
import time

from amr.features import ExtractConfig, extract_features
from amr.features.clip import ClipEncoder
from amr.features.tiny import write_tiny_clip, write_videos
from amr.features.video import read_clip_frames
from benchmarks.scratch import scratch_dir

VIDEOS, SECONDS, FPS, FRAMES_PER_CLIP = 24, 60.0, 25, 2


def run():
    with scratch_dir() as work:
        clip = write_tiny_clip(work / "clip")
        rows = write_videos(work / "videos", VIDEOS, SECONDS, FPS)
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        (work / "train.jsonl").write_text(lines, encoding="utf-8")
        encoder = ClipEncoder.load(clip, "cpu")
        start = time.perf_counter()
        decoded = [
            read_clip_frames(work / "videos" / f"{r['vid']}.mp4", 2.0, FRAMES_PER_CLIP,
                             encoder.image_size)
            for r in rows
        ]  # fmt: skip
        decode = time.perf_counter() - start
        frames = sum(len(d.frames) for d in decoded)
        start = time.perf_counter()
        for d in decoded:
            encoder.clip_features(d.frames, FRAMES_PER_CLIP)
        encode = time.perf_counter() - start
        config = ExtractConfig(
            videos=work / "videos", annotations=[("train", work / "train.jsonl")],
            out=work / "store", model=str(clip), frames_per_clip=FRAMES_PER_CLIP, device="cpu",
            workers=2,
        )  # fmt: skip
        start = time.perf_counter()
        extract_features(config, show_progress=False)
        whole = time.perf_counter() - start
    decoded_frames = int(VIDEOS * SECONDS * FPS)
    rows = [
        ("decode alone (one video at a time; every frame decoded, sampled ones resized)",
         f"{decoded_frames:,} frames", f"{decode:.2f} s",
         f"{decoded_frames / decode:,.0f} frames/s"),
        ("encode (tiny CLIP, batches of 64)", f"{frames:,} sampled frames", f"{encode:.2f} s",
         f"{frames / encode:,.0f} frames/s"),
        ("amr features extract (2 decode threads + encoder, then import)",
         f"{VIDEOS} videos", f"{whole:.2f} s", f"{VIDEOS / whole:.1f} videos/s"),
    ]  # fmt: skip
    headline = {
        "stage": "amr features extract: tiny CLIP, 60-s videos, CPU",
        "figure": f"{VIDEOS / whole:.1f} videos/s",
        "comparison": f"decode {decode:.1f} s vs encode {encode:.1f} s of {whole:.1f} s",
    }
    return rows, headline
