"""The README.md of an export: the exact commands that train each trainer family on it.

Paths in the commands are absolute (the export's place when written); export.json has them
relative, for scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _number(value: float) -> str:
    return f"{value:g}"


def moment_detr_command(d: dict[str, Any], root: Path, train: str, extra: str = "") -> str:
    """Flags appended to the family's train.sh (it passes `${@:1}` on; argparse keeps the last
    value of a repeated flag, so these win over the script's own)."""
    dirs = " ".join(str(root / v) for v in d["v_feat_dirs"])
    evals = d["eval"]
    eval_flag = f"  --eval_path {root / evals['val']} \\\n" if "val" in evals else ""
    return (
        "bash moment_detr/scripts/train.sh \\\n"
        f"  --dset_name {d['dset_name']} \\\n"
        f"  --train_path {root / train} \\\n"
        f"{eval_flag}"
        f"  --v_feat_dirs {dirs} \\\n"
        f"  --v_feat_dim {d['v_feat_dim']} \\\n"
        f"  --t_feat_dir {root / d['t_feat_dir']} \\\n"
        f"  --t_feat_dim {d['t_feat_dim']} \\\n"
        f"  --clip_length {_number(d['clip_length'])} \\\n"
        f"  --max_v_l {d['max_v_l']}{extra}"
    )


def lighthouse_config(d: dict[str, Any], root: Path) -> str:
    """The data lines of a lighthouse config (training/config.py reads these keys)."""
    train = d["train"]
    evals = d["eval"]
    lines = [
        f"dset_name: {d['dset_name']}",
        f"clip_length: {_number(d['clip_length'])}",
        f"train_path: {root / train}",
        *([f"eval_path: {root / evals['val']}", "eval_split_name: val"] if "val" in evals else []),
        "v_feat_dirs:",
        *(f"  - {root / v}" for v in d["v_feat_dirs"]),
        f"v_feat_dim: {d['trainer_v_feat_dim']}  # {d['v_feat_dim']} + 2 TEF columns",
        f"t_feat_dir: {root / d['t_feat_dir']}",
        f"t_feat_dim: {d['t_feat_dim']}",
        f"max_v_l: {d['max_v_l']}",
    ]
    return "\n".join(lines) + "\n"


def univtg_command(d: dict[str, Any], root: Path, train: str, extra: str = "") -> str:
    dirs = " ".join(str(root / v) for v in d["v_feat_dirs"])
    types = "_".join(Path(v).name.removeprefix("vid_") for v in d["v_feat_dirs"])
    evals = d["eval"]
    eval_flag = f"  --eval_path {root / evals['val']} \\\n" if "val" in evals else ""
    return (
        "PYTHONPATH=. python main/train_mr.py --dset_type mr \\\n"
        f"  --dset_name {d['dset_name']} \\\n"
        f"  --train_path {root / train} \\\n"
        f"{eval_flag}"
        f"  --v_feat_dirs {dirs} \\\n"
        f"  --v_feat_dim {d['v_feat_dim']} \\\n"
        f"  --v_feat_types {types} \\\n"
        f"  --t_feat_dir {root / d['t_feat_dir']} \\\n"
        f"  --t_feat_dim {d['t_feat_dim']} \\\n"
        f"  --t_feat_type {Path(d['t_feat_dir']).name.removeprefix('txt_')} \\\n"
        f"  --clip_length {_number(d['clip_length'])} \\\n"
        f"  --use_cache -1{extra}"
    )


def moment_detr_section(d: dict[str, Any], root: Path) -> list[str]:
    lines = [
        "In a clone of moment_detr (QD-DETR, TR-DETR, CG-DETR, UVCOM and FlashVTG take the "
        "same flags in their own `train.sh`):",
        "", "```bash", moment_detr_command(d, root, d["train"]), "```",
    ]  # fmt: skip
    if float(d["clip_length"]) != int(d["clip_length"]):
        lines.append(
            f"Note: moment_detr's `config.py` parses `--clip_length` as an integer; for "
            f"{d['clip_length']:g} s clips change it to `type=float` first."
        )
    note = (
        "`--resume` loads the weights (add `--resume_all` to continue the optimizer and epoch "
        "count too)."
    )
    return lines + _two_step(moment_detr_command, d, root, note)


def lighthouse_section(d: dict[str, Any], root: Path) -> list[str]:
    lines = [
        "`lighthouse.yml` (here) holds the data lines of a lighthouse config. Append it to a "
        "model's config, then train (PyYAML keeps the last of a repeated key, so these lines "
        "win):",
        "", "```bash",
        f"cat configs/qvhighlight/clip_slowfast_moment_detr_qvhighlight.yml "
        f"{root / 'lighthouse.yml'} > configs/amr.yml",
        "PYTHONPATH=. python training/train.py --config configs/amr.yml",
        "```", "", "The lines:", "", "```yaml", lighthouse_config(d, root).rstrip(), "```",
    ]  # fmt: skip
    parts = d["train_parts"]
    if parts:
        lines += [
            "", "## The two-step recipe", "",
            f"Train once with `train_path: {root / parts['augmented']}`, then again with "
            f"`train_path: {root / parts['real']}` starting from the first run's weights. "
            "lighthouse's `training/train.py` has no resume option: load "
            "`torch.load(ckpt)['model']` into the model before the second run's training loop "
            "(a two-line change).",
        ]  # fmt: skip
    return lines


def univtg_section(d: dict[str, Any], root: Path) -> list[str]:
    lines = ["In a clone of UniVTG:", "", "```bash", univtg_command(d, root, d["train"]), "```"]
    return lines + _two_step(univtg_command, d, root, "`--resume` loads the step-1 checkpoint.")


def _two_step(command: Callable[..., str], d: dict[str, Any], root: Path, note: str) -> list[str]:
    """AMR's two stages with a trainer's resume flag (only when the export has both parts)."""
    parts = d["train_parts"]
    if not parts:
        return []
    step1 = command(d, root, parts["augmented"], " \\\n  --exp_id amr_step1")
    resume = " \\\n  --exp_id amr_step2 \\\n  --resume results/<the amr_step1 run>/model_best.ckpt"
    return [
        "", "## The two-step recipe", "",
        "AMR's two stages, approximated with any trainer: train on the augmented rows, then "
        f"continue on the real rows from that checkpoint. {note}",
        "", "```bash", step1, "", command(d, root, parts["real"], resume), "```",
    ]  # fmt: skip


def render_readme(
    trainers: str,
    train_section: Callable[[dict[str, Any], Path], list[str]],
    d: dict[str, Any],
    out: Path,
) -> str:
    root = Path(out).resolve()
    rows = d["rows"]
    evals = ", ".join(f"`{split}` ({path})" for split, path in d["eval"].items()) or "none"
    lines = [
        f"# An amr corpus for {trainers}",
        "",
        f"Written by `amr corpus export --format {d['format']}` (amr {d['amr_version']}) from the "
        f"corpus `{d['corpus']['path']}` ({d['corpus']['rows']:,} rows, `--rows "
        f"{d['corpus']['selected']}`) and the store `{d['store']['name']}`.",
        "",
        f"- Training rows: `{d['train']}`, {rows['written']:,} written, {rows['dropped']:,} "
        f"dropped (no labelled clip), {rows['over_max_v_l']:,} longer than max_v_l "
        f"{d['max_v_l']} (the longest has {rows['longest']} clips).",
        *(f"- `{part}` rows alone: `{path}`." for part, path in d["train_parts"].items()),
        f"- Evaluation splits (the store's real rows): {evals}.",
        "- Video features, one folder per source, in the order the loader concatenates them: "
        + ", ".join(f"`{v}`" for v in d["v_feat_dirs"])
        + f" ({d['v_feat_dim']} dims together); text: `{d['t_feat_dir']}` (`{d['text_file']}`).",
        f"- `duration` is clips × {d['clip_length']:g} s and the windows are scaled with it, "
        "because these loaders normalise windows by clip count × clip length.",
        f"- Saliency: {d['saliency']}.",
        "- Extra keys `amr_sample_id`, `kind` and `difficulty` tie each row to the corpus; the "
        "loaders ignore them.",
        "",
        "## Train",
        "",
        *train_section(d, root),
        "",
    ]
    return "\n".join(lines)
