"""bf16 autocast on the CPU (TrainConfig.cpu_bf16, `--cpu-bf16`): the model computes in bf16,
the losses, the weights and their updates stay float32, and the default stays float32."""

from __future__ import annotations

import torch

from amr.device import autocast, cpu_has_bf16_matrices, slow_bf16_warning
from amr.train.config import DistillConfig, LossConfig, ModelConfig
from amr.train.distill import DistillCriterion
from amr.train.engine import train_step
from amr.train.losses import Criterion
from amr.train.model import MomentDETR
from benchmarks.train import synthetic_batch

CONFIG = ModelConfig(video_dim=12, text_dim=6, hidden=32, heads=4, ffn=64, dropout=0.0,
                     input_dropout=0.0)  # fmt: skip


def _dtypes_seen(module: torch.nn.Module) -> list[torch.dtype]:
    """The output dtypes of `module`'s linear layers, recorded as it runs."""
    seen: list[torch.dtype] = []
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            layer.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


def _steps(cpu_bf16: bool, steps: int = 4) -> tuple[MomentDETR, list[dict], list[torch.dtype]]:
    torch.manual_seed(0)
    model = MomentDETR(CONFIG)
    seen = _dtypes_seen(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batch = synthetic_batch(12, 6, generator)
    criterion, cpu = Criterion(LossConfig()), torch.device("cpu")
    terms = [
        train_step(model, criterion, optimizer, batch, cpu, 0.1, cpu_bf16) for _ in range(steps)
    ]
    return model, terms, seen


def test_the_default_cpu_step_is_float32_and_cpu_bf16_runs_the_model_in_bf16():
    _, _, seen = _steps(cpu_bf16=False, steps=1)
    assert set(seen) == {torch.float32}
    model, terms, seen = _steps(cpu_bf16=True, steps=1)
    assert set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32
    assert all(t.dtype == torch.float32 and torch.isfinite(t) for t in terms[0].values())


def test_a_cpu_bf16_step_learns_what_a_float32_step_does():
    """Same model, batch and optimiser: the loss falls the same way, to bf16's rounding."""
    _, fp32, _ = _steps(cpu_bf16=False)
    _, bf16, _ = _steps(cpu_bf16=True)
    first, last = fp32[0]["total"], fp32[-1]["total"]
    assert last < first  # the four steps learn
    for a, b in zip(fp32, bf16, strict=True):
        assert torch.isclose(a["total"], b["total"], rtol=0.02), (a["total"], b["total"])


def test_the_teacher_runs_in_the_students_precision():
    torch.manual_seed(0)
    teacher = MomentDETR(CONFIG)
    seen = _dtypes_seen(teacher)
    student = MomentDETR(CONFIG)
    batch = synthetic_batch(12, 6, torch.Generator().manual_seed(0))
    for cpu_bf16, dtype in ((False, torch.float32), (True, torch.bfloat16)):
        seen.clear()
        criterion = DistillCriterion(Criterion(LossConfig()), teacher, DistillConfig(), cpu_bf16)
        with autocast(torch.device("cpu"), cpu_bf16):
            outputs = student(*batch.inputs)
        total, terms = criterion(outputs.float(), batch)
        assert set(seen) == {dtype} and torch.isfinite(total) and "distill" in terms


def test_the_cpu_says_whether_it_multiplies_bf16_natively(monkeypatch):
    """What the warning that --cpu-bf16 would be slow reads: /proc/cpuinfo's flags."""
    import amr.device

    for flags, native in (("fpu avx2 avx512f", False), ("avx512f amx_bf16 amx_tile", True),
                          ("avx512f avx512_bf16", True), (None, None)):  # fmt: skip
        monkeypatch.setattr(amr.device, "_cpuinfo_field", lambda name, f=flags: f)
        assert cpu_has_bf16_matrices() is native, flags
        warned = slow_bf16_warning(torch.device("cpu"), cpu_bf16=True)
        assert (warned is not None) == (native is False), flags
        assert warned is None or "--cpu-bf16" in warned
        assert slow_bf16_warning(torch.device("cpu"), cpu_bf16=False) is None
