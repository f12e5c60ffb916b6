"""Per-step schedules: learning-rate warm-up/decay and router temperature
(docs/method.md#training, #model)."""

from __future__ import annotations


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over ``warmup`` of the steps, then linear decay to zero."""
    warm = int(total * warmup)
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (total - step) / max(1, total - warm))


def temperature_at(step: int, total: int, start: float, end: float) -> float:
    """Linear annealing from T0 to T_min, one update per optimizer step."""
    if total <= 1:
        return end
    return start + (end - start) * min(step, total - 1) / (total - 1)
