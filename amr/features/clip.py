"""A CLIP encoder (Hugging Face `transformers`) from a local directory or the user's cache:
pooled, projected, L2-normalised image features per frame, and L2-normalised token states per
query (as the community CLIP text features are). Nothing is downloaded."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from amr.device import autocast, resolve_device
from amr.errors import AmrError

# OpenAI CLIP's pixel statistics, used when the model directory has no image processor config.
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


class ClipEncoder:
    def __init__(self, model, tokenizer, device: torch.device, mean=MEAN, std=STD):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    @classmethod
    def load(cls, name_or_path: str | Path, device: str = "auto") -> ClipEncoder:
        try:
            import transformers
        except ImportError:
            raise AmrError("CLIP features need transformers: pip install 'amr[video]'") from None
        where = str(name_or_path)
        transformers.utils.logging.disable_progress_bar()  # amr draws its own progress
        transformers.utils.logging.set_verbosity_error()
        try:
            config = transformers.AutoConfig.from_pretrained(where, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AmrError(f"{where}: {_not_found(where, exc)}") from None
        if config.model_type != "clip":
            raise AmrError(f"{where}: not a CLIP model (model_type {config.model_type!r})")
        target = resolve_device(device)
        model = transformers.CLIPModel.from_pretrained(where, local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(where, local_files_only=True)
        mean, std = MEAN, STD
        processor = Path(where) / "preprocessor_config.json"
        if processor.is_file():
            import json

            body = json.loads(processor.read_text(encoding="utf-8"))
            mean, std = body.get("image_mean", MEAN), body.get("image_std", STD)
        return cls(model.eval().to(target), tokenizer, target, mean, std)

    @property
    def image_size(self) -> int:
        return int(self.model.config.vision_config.image_size)

    @property
    def video_dim(self) -> int:
        return int(self.model.config.projection_dim)

    @property
    def text_dim(self) -> int:
        return int(self.model.config.text_config.hidden_size)

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """(N, size, size, 3) uint8 → (N, video_dim) float32, L2-normalised."""
        out = []
        for start in range(0, len(frames), batch_size):
            pixels = torch.from_numpy(frames[start : start + batch_size]).to(self.device)
            pixels = (pixels.permute(0, 3, 1, 2).float() / 255.0 - self.mean) / self.std
            with autocast(self.device):
                pooled = self.model.vision_model(pixel_values=pixels).pooler_output
                features = self.model.visual_projection(pooled)
            out.append(torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.video_dim), np.float32)

    @torch.no_grad()
    def encode_queries(self, queries: list[str], batch_size: int = 64) -> list[np.ndarray]:
        """Each query's token states (tokens, text_dim) float32, L2-normalised per token."""
        out: list[np.ndarray] = []
        for start in range(0, len(queries), batch_size):
            batch = self.tokenizer(
                queries[start : start + batch_size], padding=True, truncation=True,
                return_tensors="pt",
            ).to(self.device)  # fmt: skip
            with autocast(self.device):
                states = self.model.text_model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).last_hidden_state
            states = torch.nn.functional.normalize(states.float(), dim=-1).cpu().numpy()
            lengths = batch["attention_mask"].sum(dim=1).cpu().numpy()
            out.extend(states[i, : lengths[i]] for i in range(len(lengths)))
        return out

    def clip_features(self, frames: np.ndarray, frames_per_clip: int) -> np.ndarray:
        """(n_clips, video_dim): each clip's frame features averaged, then L2-normalised (what
        a store made by `amr features extract` holds)."""
        per_frame = self.encode_frames(frames)
        per_clip = per_frame.reshape(-1, frames_per_clip, per_frame.shape[1]).mean(axis=1)
        return per_clip / np.maximum(np.linalg.norm(per_clip, axis=1, keepdims=True), 1e-12)


def _not_found(where: str, exc: Exception) -> str:
    """Why a model could not be loaded, and how to get it: amr downloads nothing."""
    files = "config.json, the tokenizer files and model.safetensors"
    if Path(where).exists():
        return f"not a Hugging Face model directory (it needs {files})"
    if re.fullmatch(r"[\w.-]+/[\w.-]+", where):
        return (
            "not in the Hugging Face cache, and amr downloads nothing: run `huggingface-cli "
            f"download {where}` where there is a network and copy ~/.cache/huggingface here, "
            f"or pass --model DIR holding {files}"
        )
    return f"no such model directory ({str(exc).splitlines()[0][:80]})"
