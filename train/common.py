"""What the project's training commands share: the optimiser with warm-up and linear decay, the
fp16 state that ships (frozen tensors left out), and the commit a manifest records."""

from __future__ import annotations

import subprocess
from typing import Any

from citeline.config import PROJECT_ROOT


def optimiser(net: Any, lr: float, steps: int) -> tuple[Any, Any, list[Any]]:
    """AdamW over the trainable parameters, a tenth of the steps of warm-up, then linear decay."""
    import torch

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps)
    )
    return opt, sched, params


def backward_step(loss: Any, opt: Any, sched: Any, params: list[Any]) -> float:
    """One optimiser step on `loss` (gradients clipped at norm 1); the loss as a float."""
    import torch

    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    return float(loss.detach())


def trained_state(net: Any, frozen: tuple[str, ...]) -> dict[str, Any]:
    """What training changed (the `frozen` tensors of `net.bert` left out), as fp16."""
    import torch

    out = {}
    for name, value in net.state_dict().items():
        if name.removeprefix("bert.") in frozen or "position_ids" in name:
            continue
        out[name] = value.detach().to(torch.float16).contiguous()
    return out


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"
