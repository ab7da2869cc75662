"""The trainers' layouts an export writes: one `TargetFormat` declaration each, in `FORMATS`.

Everything that differs between the field's loaders is here: where the annotation files and
the per-source feature folders go, how a text file is named, in which order the loader
concatenates the video sources, the `dset_name` it expects, and whether its `v_feat_dim`
counts the two temporal-endpoint (TEF) columns. docs/export.md cites the loader line behind
each choice. A new trainer is one more `TargetFormat` in `FORMATS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amr.datasets.store import FeatureSource, StoreMeta
from amr.errors import AmrError
from amr.export.readme import (
    lighthouse_config,
    lighthouse_section,
    moment_detr_section,
    univtg_section,
)

Section = Callable[[dict[str, Any], Path], Any]  # (export.json, export root) → text


def family(name: str) -> str:
    """A source's family, the part of a folder name the layouts share: `slowfast_features`
    → `slowfast`, `vid_clip` → `clip`, `clip_text_features` → `clip`. Other names are kept
    without those affixes (`clip_b32_vid_k4` stays itself: it is not Moment-DETR's CLIP)."""
    stem = name.lower()
    for prefix in ("vid_", "txt_"):
        stem = stem.removeprefix(prefix)
    for suffix in ("_features", "_text"):
        stem = stem.removesuffix(suffix)
    return "slowfast" if "slowfast" in stem else (stem or "video")


def store_dataset(meta: StoreMeta) -> str:
    """The dataset a store was made from: the first import's `dataset`, or `synthetic`."""
    imports = meta.sources.get("imports") or [{}]
    return str(imports[0].get("dataset") or meta.sources.get("kind") or "unknown")


@dataclass(frozen=True)
class TargetFormat:
    """One trainer family's on-disk layout. Paths are relative to the export directory;
    `{dset}` is the format's dataset name, `{family}` a source's family, `{split}` a split."""

    name: str
    trainers: str  # who reads it, for --help and the README
    annotation_path: str
    video_dir: str
    text_dir: str
    text_file: str  # `{qid}` is replaced
    family_order: tuple[str, ...]  # the loader's concatenation order; other sources follow
    dset_names: dict[str, str]  # store dataset → the trainer's dset_name
    tef_in_v_feat_dim: bool  # the trainer's v_feat_dim counts the 2 TEF columns
    train_section: Section  # the README's training commands (a list of lines)
    config_file: tuple[str, Section] | None = None  # a config the trainer reads, if it has one
    split_names: dict[str, str] = field(default_factory=dict)  # a split's file stem, if renamed
    text_file_by_dset: dict[str, str] = field(default_factory=dict)  # dset_name → text_file

    def dset_name(self, meta: StoreMeta) -> str:
        dataset = store_dataset(meta)
        return self.dset_names.get(dataset, self.dset_names["*"])

    def text_name(self, dset: str) -> str:
        return self.text_file_by_dset.get(dset, self.text_file)

    def ordered_sources(self, sources: tuple[FeatureSource, ...]) -> list[int]:
        """Indices of the store's sources in the order this loader concatenates them: the
        known families first in `family_order`, then the rest in store order."""

        def rank(index: int) -> tuple[int, int]:
            fam = family(sources[index].name)
            known = self.family_order.index(fam) if fam in self.family_order else len(sources)
            return known, index

        return sorted(range(len(sources)), key=rank)

    def video_folder(self, source: FeatureSource, dset: str) -> str:
        return self.video_dir.format(dset=dset, family=family(source.name))

    def text_folder(self, source: FeatureSource, dset: str) -> str:
        return self.text_dir.format(dset=dset, family=family(source.name))

    def annotation_file(self, split: str, dset: str) -> str:
        return self.annotation_path.format(dset=dset, split=self.split_names.get(split, split))


FORMATS: dict[str, TargetFormat] = {
    # jayleicn/moment_detr moment_detr/start_end_dataset.py; QD-DETR, TR-DETR (the AMR reference
    # code), CG-DETR, UVCOM and FlashVTG keep this loader. CG-DETR names TACoS and Ego4D-NLQ
    # text files `{qid}.npz`.
    "moment-detr": TargetFormat(
        name="moment-detr",
        trainers="Moment-DETR, QD-DETR, TR-DETR, CG-DETR, UVCOM, FlashVTG",
        annotation_path="data/{split}.jsonl",
        video_dir="features/{family}_features",
        text_dir="features/{family}_text_features",
        text_file="qid{qid}.npz",
        family_order=("slowfast", "clip"),
        dset_names={
            "qvhighlights": "hl",
            "charades": "charadesSTA",
            "tacos": "tacos",
            "ego4d_nlq": "nlq",
            "*": "hl",
        },
        tef_in_v_feat_dim=False,
        train_section=moment_detr_section,
        text_file_by_dset={"tacos": "{qid}.npz", "nlq": "{qid}.npz"},
    ),
    # line-corporation/lighthouse training/dataset.py and training/config.py: CLIP before
    # SlowFast, v_feat_dim includes the TEF columns, TACoS text files are `{qid}.npz`.
    "lighthouse": TargetFormat(
        name="lighthouse",
        trainers="lighthouse (Moment-DETR, QD-DETR, EaTR, CG-DETR, UVCOM, TR-DETR, TaskWeave)",
        annotation_path="data/{dset}/{split}.jsonl",
        video_dir="features/{dset}/{family}",
        text_dir="features/{dset}/{family}_text",
        text_file="qid{qid}.npz",
        family_order=("clip", "slowfast"),
        dset_names={
            "qvhighlights": "qvhighlight",
            "charades": "charades",
            "tacos": "tacos",
            "activitynet": "activitynet",
            "*": "qvhighlight",
        },
        tef_in_v_feat_dim=True,
        train_section=lighthouse_section,
        config_file=("lighthouse.yml", lighthouse_config),
        text_file_by_dset={"tacos": "{qid}.npz"},
    ),
    # showlab/UniVTG main/dataset.py (DatasetMR): `{qid}.npz` text files; it replaces the
    # windows of every file whose path holds "test" with [0, 150] for QVHighlights (whose test
    # split is unlabelled), so a labelled test split is written as `heldout`.
    "univtg": TargetFormat(
        name="univtg",
        trainers="UniVTG",
        annotation_path="data/{dset}/metadata/{split}.jsonl",
        video_dir="data/{dset}/vid_{family}",
        text_dir="data/{dset}/txt_{family}",
        text_file="{qid}.npz",
        family_order=("slowfast", "clip"),
        dset_names={
            "qvhighlights": "qvhighlights",
            "charades": "charades",
            "tacos": "tacos",
            "activitynet": "anet",
            "ego4d_nlq": "ego4d",
            "*": "qvhighlights",
        },
        tef_in_v_feat_dim=False,
        train_section=univtg_section,
        split_names={"test": "heldout"},
    ),
}


def target_format(name: str) -> TargetFormat:
    if name not in FORMATS:
        raise AmrError(f"unknown export format {name!r} (known: {', '.join(FORMATS)})")
    return FORMATS[name]
