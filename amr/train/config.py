"""Settings, one dataclass each (saved in every run's config.json): the model, the losses,
training, and stage 2's distillation; and how a command's settings are layered: a stage's
defaults, then the `--config` JSON file, then the command-line flags."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from amr.errors import AmrError
from amr.train.curriculum import Pacing


class JsonConfig:
    """to_json / from_json for a settings dataclass; an unknown field is a clear error."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, body: dict[str, Any]):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(body) - known)
        if unknown:
            raise AmrError(f"{cls.__name__}: unknown field {unknown[0]!r}")
        return cls(**body)


@dataclass(frozen=True)
class ModelConfig(JsonConfig):
    """The DETR-style moment-retrieval model; defaults are the reference shape."""

    video_dim: int
    text_dim: int
    hidden: int = 256
    num_queries: int = 10
    active_queries: int = 0  # stage 2's second query set (0 in stage 1)
    encoder_layers: int = 2
    decoder_layers: int = 4
    heads: int = 8
    ffn: int = 1024
    dropout: float = 0.1
    input_dropout: float = 0.5
    max_clips: int = 75
    iou_head: bool = True  # predict each span's IoU (the reference's head; trained with MSE)
    rank_by_iou: bool = True  # rank windows by foreground probability × predicted IoU

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise AmrError(f"hidden {self.hidden} is not a multiple of heads {self.heads}")
        for name in ("video_dim", "text_dim", "num_queries", "decoder_layers", "max_clips"):
            if getattr(self, name) < 1:
                raise AmrError(f"model config: {name} must be at least 1")


@dataclass(frozen=True)
class LossConfig(JsonConfig):
    """Loss weights (and the matcher's costs, which mirror them)."""

    span_l1: float = 10.0
    span_giou: float = 1.0
    label: float = 4.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    saliency_margin: float = 1.0  # weight of the hinge between a relevant and an other clip
    margin: float = 0.2
    saliency_rank: float = 1.0  # weight of the rank-contrastive saliency loss
    rank_temperature: float = 0.5
    iou_score: float = 1.0  # MSE of the predicted IoU against each span's IoU with the moment
    vtc: float = 0.3  # video-text contrastive: each video's mean clip against the batch's queries
    ctc: float = 0.5  # clip-text contrastive: is each clip relevant, from its cosine to the query
    contrast_temperature: float = 0.07
    aux: bool = True  # the same set losses on every decoder layer's output


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    epochs: int = 30
    max_samples: int | None = None  # stop once this many samples are trained on (equal budgets)
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    lr_drop: int = 20  # epochs between 10x learning-rate drops
    # stop once best.pt's metric (val MR-full-mAP) has not improved for this many epochs;
    # None: train every epoch
    patience: int | None = None
    grad_clip: float = 0.1
    seed: int = 0
    curriculum: bool = True  # False: every epoch draws from the whole corpus (the ablation)
    pacing: str = "root"  # linear, root, step, or ordered (every row, easy to hard)
    pacing_start: float = 0.3
    epochs_to_full: int = 10
    window_rows: int = 256
    workers: int = 2  # loader threads
    include_original: bool = False  # stage 1 trains on augmented rows only, as the reference
    val_split: str | None = "val"
    checkpoint_every: int = 500  # steps between last.pt saves inside an epoch
    device: str = "auto"
    # Settings added after runs were saved without them: each default is what amr did before
    # (spec.saved_spec_json). On the CPU, dropout masks from a quarter of the random draws
    # (dropout.py): the same distribution, other masks, so other numbers than torch's.
    fast_dropout: bool = False
    # AdamW as one fused kernel (torch's fused=True): fewer launches, other rounding. Off:
    # the multi-tensor kernels, to the bit the per-parameter loop's numbers.
    fused_adamw: bool = False
    # The model's forward and backward compiled by torch.compile (inductor), on batches padded
    # to one shape (LoaderConfig.static_shapes). Compiling takes a minute or more; other
    # kernels round differently and draw other dropout masks.
    compile: bool = False
    # On the CPU, the model in bf16 autocast as on CUDA (float32 losses and weights). Fast on
    # CPUs with bf16 matrix instructions (AMX, AVX-512 BF16), slower on others; other rounding.
    cpu_bf16: bool = False

    def __post_init__(self) -> None:
        checks = (
            ("epochs", self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("lr", self.lr > 0, "positive"),
            ("max_samples", self.max_samples is None or self.max_samples >= 1, "at least 1"),
            ("patience", self.patience is None or self.patience >= 1, "at least 1"),
            ("lr_drop", self.lr_drop >= 1, "at least 1"),
            ("weight_decay", self.weight_decay >= 0, "at least 0"),
            ("grad_clip", self.grad_clip >= 0, "at least 0"),
            ("workers", self.workers >= 1, "at least 1"),
            ("window_rows", self.window_rows >= 1, "at least 1"),
            ("epochs_to_full", self.epochs_to_full >= 0, "at least 0"),
            ("checkpoint_every", self.checkpoint_every >= 0, "at least 0"),
        )
        for name, ok, wanted in checks:
            if not ok:
                flag = "--" + name.replace("_", "-")
                raise AmrError(f"{flag} must be {wanted}, got {getattr(self, name)}")

    def pacing_schedule(self) -> Pacing | None:
        """The pacing of the run's epochs; it reaches the whole data by the last epoch, however
        few epochs the run has (epochs_to_full is cut to epochs - 1)."""
        if not self.curriculum:
            return None
        return Pacing(self.pacing, self.pacing_start, min(self.epochs_to_full, self.epochs - 1))


def sqrt_scaled_lr(lr: float, batch_size: int, reference_batch: int = 32) -> float:
    """The learning rate for a batch of `batch_size` where `lr` suits `reference_batch`: the
    square-root rule of Adam-family optimisers (Malladi et al., NeurIPS 2022: a k times larger
    batch takes a sqrt(k) times larger rate). docs/train.md: larger batches are an option."""
    return lr * (batch_size / reference_batch) ** 0.5


# Stage-2 variants; the first of each is the default (the reference implementation's).
MATCHINGS = ("joint", "separate")
ACTIVE_FFN = ("copy", "fresh")
DISC_NEGATIVES = ("wrong-spans", "top-k")


# What each stage changes of TrainConfig's defaults. Here, not in amr.train.stages (which loads
# torch), so that `amr train STAGE --help` states each stage's own numbers. Stage 2 follows the
# reference schedule (100 epochs, lr ÷10 at 40); it keeps rows easy to hard (`ordered`).
STAGE_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "cold-start": {},
    "distill": {"epochs": 100, "lr_drop": 40, "pacing": "ordered"},
}


def stage_train_default(stage: str, name: str) -> Any:
    """A stage's default for one TrainConfig field."""
    return STAGE_TRAIN_DEFAULTS[stage].get(name, TrainConfig.__dataclass_fields__[name].default)


@dataclass(frozen=True)
class DistillConfig(JsonConfig):
    """Stage 2: the Active Queries and the distillation and discrimination losses."""

    active_queries: int = 10  # the Active Query set's size (0: --no-active-queries)
    distill: float = 0.5  # weight of the Original-vs-Base distillation (0: --no-distill-loss)
    distill_hidden: float = 0.0  # weight of 1 - cosine of decoder hidden states (reference code)
    discrimination: float = 0.5  # weight of the discrimination loss (0: --no-disc-loss)
    temperature: float = 0.07
    # the discrimination loss's negatives: the real sample's wrong spans (reference), or the
    # `hard_negatives` non-relevant clips most similar to the query ("top-k")
    disc_negatives: str = DISC_NEGATIVES[0]
    hard_negatives: int = 3
    init_original_randomly: bool = False
    active_ffn: str = ACTIVE_FFN[
        0
    ]  # Active Queries' FFNs: "copy" the cold start's (reference), "fresh"
    matching: str = MATCHINGS[
        0
    ]  # both query sets in one Hungarian matching (reference), "separate"
    replay_fraction: float = 0.0  # share of each epoch's rows drawn from the augmented ones

    def __post_init__(self) -> None:
        choices = (
            ("active_ffn", ACTIVE_FFN),
            ("matching", MATCHINGS),
            ("disc_negatives", DISC_NEGATIVES),
        )
        for name, allowed in choices:
            value = getattr(self, name)
            if value not in allowed:
                raise AmrError(f"distill {name} must be {' or '.join(allowed)}, got {value!r}")


CONFIG_SECTIONS = ("model", "loss", "train", "distill")


def read_config_file(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """A `--config` file: a JSON object with `model`, `loss`, `train` and (stage 2) `distill`
    sections, each an object of settings. None reads as no file."""
    if path is None:
        return {}
    path = Path(path)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AmrError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(body, dict) or set(body) - set(CONFIG_SECTIONS):
        raise AmrError(f"{path}: expected an object with `model`, `loss`, `train`, `distill`")
    for name, section in body.items():
        if not isinstance(section, dict):
            raise AmrError(f"{path}: `{name}` must be an object of settings")
    return {k: dict(v) for k, v in body.items()}


def layered(
    defaults: Mapping[str, Any], from_file: Mapping[str, Any], flags: Mapping[str, Any]
) -> dict[str, Any]:
    """Settings from three layers, each overriding the one before: a stage's defaults, the
    config file's section, the flags given on the command line (None: not given)."""
    return {**defaults, **from_file, **{k: v for k, v in flags.items() if v is not None}}


@dataclass(frozen=True)
class RunSettings:
    """Everything a training command decides: model options (a stage-1 or baseline model's
    shape; distill takes its model from --init), training, and stage 2's settings."""

    model_options: dict[str, Any]
    train: TrainConfig
    distill: DistillConfig | None = None
    loss: LossConfig = LossConfig()


def run_settings(
    config_file: str | Path | None,
    train_defaults: Mapping[str, Any] | None = None,
    train_flags: Mapping[str, Any] | None = None,
    distill_flags: Mapping[str, Any] | None = None,
) -> RunSettings:
    """The layered settings of one `amr train` command. `distill_flags` is None for stages
    without distillation settings (then a `distill` section in the file is an error)."""
    sections = stated_settings(config_file, train_flags, distill_flags)
    loss = LossConfig.from_json(sections.get("loss", {}))
    train = TrainConfig.from_json({**(train_defaults or {}), **sections.get("train", {})})
    if distill_flags is None:
        return RunSettings(sections.get("model", {}), train, loss=loss)
    distill = DistillConfig.from_json(sections.get("distill", {}))
    return RunSettings({}, train, distill, loss)


def stated_settings(
    config_file: str | Path | None,
    train_flags: Mapping[str, Any] | None = None,
    distill_flags: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The settings a command states, by section: its --config file's, overridden by its flags
    (None: not given), and no defaults. A new run layers them over the stage's defaults; a
    resumed run must agree with them."""
    sections = read_config_file(config_file)
    if distill_flags is None and "distill" in sections:
        raise AmrError(f"{config_file}: a `distill` section is only for amr train distill")
    if distill_flags is not None and sections.get("model"):
        raise AmrError("distill takes its model from --init; the config's `model` must be empty")
    sections["train"] = layered({}, sections.get("train", {}), train_flags or {})
    if distill_flags is not None:
        sections["distill"] = layered({}, sections.get("distill", {}), distill_flags)
    return {name: section for name, section in sections.items() if section}
