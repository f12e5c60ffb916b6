"""Checkpoints of the trainable parameters only, as safetensors.

While a run is unfinished the file also holds the AdamW moments and the torch RNG state,
so that resuming reproduces an uninterrupted run exactly on CPU; the final checkpoint keeps
only the prompts, encoders and router (a few MB). Writes are atomic (temp file + replace).
The metadata records a SHA-256 of the tensors: flipped bytes on disk are refused on
reading rather than resumed into NaN losses (checkpoints written before it are trusted).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from compt.errors import ComptError
from compt.files import atomic_file

PARAM = "param."
OPTIM = "optim."
RNG = "rng.torch"


def save_checkpoint(
    path: Path,
    params: dict[str, torch.Tensor],
    step: int,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    tensors = {PARAM + k: v.detach().cpu().contiguous() for k, v in params.items()}
    if optimizer is not None:
        for index, state in optimizer.state_dict()["state"].items():
            for name, value in state.items():
                tensors[f"{OPTIM}{index}.{name}"] = torch.as_tensor(value).detach().cpu()
        tensors[RNG] = torch.get_rng_state()
    with atomic_file(path) as tmp:
        save_file(tensors, str(tmp), metadata={"step": str(step), "format": "compt-1",
                                               "sha256": tensors_digest(tensors)})


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise ComptError(f"Checkpoint '{path}' cannot be read: {exc}") from None
    if "sha256" in metadata and tensors_digest(tensors) != metadata["sha256"]:
        raise ComptError(f"Checkpoint '{path}' is damaged: its contents no longer match the "
                         "checksum written with it (a disk or copy fault changed bytes).")
    return tensors, metadata


def load_params(path: Path) -> dict[str, torch.Tensor]:
    tensors, _ = _read(path)
    return {k[len(PARAM):]: v for k, v in tensors.items() if k.startswith(PARAM)}


def restore_checkpoint(
    path: Path, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], int]:
    """Load params, optimizer moments and the RNG state; returns (params, step)."""
    tensors, metadata = _read(path)
    params = {k[len(PARAM):]: v for k, v in tensors.items() if k.startswith(PARAM)}
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(OPTIM):
            index, name = key[len(OPTIM):].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    if state:
        current = optimizer.state_dict()
        optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
    if RNG in tensors:
        torch.set_rng_state(tensors[RNG])
    return params, int(metadata.get("step", 0))
