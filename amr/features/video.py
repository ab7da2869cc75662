"""Decoding a video into the frames of its clips (PyAV): K frames per clip of `clip_length`
seconds, at evenly spaced times inside the clip, resized and centre-cropped to a square."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amr.errors import AmrError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v")


@dataclass(frozen=True)
class ClipFrames:
    frames: np.ndarray  # (n_clips * frames_per_clip, size, size, 3) uint8 RGB, clip-major
    n_clips: int
    duration: float  # seconds


def _av():
    try:
        import av
    except ImportError:
        raise AmrError("decoding videos needs PyAV: pip install 'amr[video]'") from None
    return av


def read_clip_frames(
    path: str | Path, clip_length: float, frames_per_clip: int, size: int
) -> ClipFrames:
    """The frames showing at each clip's sample times. A video has floor(duration / clip_length)
    clips (QVHighlights: 150 s at 2 s = 75 clips); one shorter than a clip is an error."""
    av = _av()
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise AmrError(f"{path}: missing or empty video file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise AmrError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = _duration(container, stream, path)
            n_clips = int(duration // clip_length + 1e-9)
            if n_clips < 1:
                raise AmrError(
                    f"{path}: {duration:.2f} s is shorter than one clip ({clip_length:g} s)"
                )
            offsets = (np.arange(frames_per_clip) + 0.5) / frames_per_clip
            targets = ((np.arange(n_clips)[:, None] + offsets[None, :]) * clip_length).ravel()
            frames = np.zeros((len(targets), size, size, 3), dtype=np.uint8)
            done, shown = 0, None
            for frame in container.decode(stream):
                time = frame.time if frame.time is not None else 0.0
                while done < len(targets) and time > targets[done]:
                    frames[done] = _square(shown if shown is not None else frame, size)
                    done += 1
                if done == len(targets):
                    break
                shown = frame
            while done < len(targets):  # the last frame shows until the end
                if shown is None:
                    raise AmrError(f"{path}: no frame could be decoded")
                frames[done] = _square(shown, size)
                done += 1
    except av.error.FFmpegError as exc:
        raise AmrError(f"{path}: unreadable video ({str(exc).splitlines()[0]})") from None
    return ClipFrames(frames, n_clips, duration)


def _duration(container, stream, path: Path) -> float:
    """Seconds, from the stream's header, else the container's (microseconds)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    raise AmrError(f"{path}: the container does not say how long the video is")


def _square(frame, size: int) -> np.ndarray:
    """Resize the shorter side to `size` and crop the centre, as CLIP's preprocessing does."""
    scale = size / min(frame.width, frame.height)
    width, height = max(size, round(frame.width * scale)), max(size, round(frame.height * scale))
    image = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    top, left = (height - size) // 2, (width - size) // 2
    return image[top : top + size, left : left + size]


def find_videos(source: str | Path, vids: list[str]) -> dict[str, Path]:
    """Each vid's file: `{vid}.mp4` (or another video suffix) in a directory, or the paths listed
    one per line in a file (the file's stem is the vid). A vid without a video is an error."""
    source = Path(source)
    if source.is_dir():
        found = {p.stem: p for p in source.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES}
    elif source.is_file():
        lines = source.read_text(encoding="utf-8").splitlines()
        paths = [Path(line.strip()) for line in lines if line.strip()]
        found = {p.stem: (p if p.is_absolute() else source.parent / p) for p in paths}
    else:
        raise AmrError(f"{source}: no such directory or list file")
    missing = [vid for vid in vids if vid not in found]
    if missing:
        raise AmrError(f"{source}: no video for vid {missing[0]!r} ({len(missing)} missing)")
    return {vid: found[vid] for vid in vids}
