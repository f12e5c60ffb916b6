"""A run's identity: resolved values, what changes results; old run folders stay readable."""

from __future__ import annotations

import json

from compt.config import RunConfig
from compt.store import RunStore


def same(a: RunConfig, b: RunConfig) -> bool:
    return a.fingerprint() == b.fingerprint()


def test_unset_and_default_values_are_one_identity():
    assert same(RunConfig(), RunConfig(prompt_len=20))
    assert same(RunConfig(method="mcat"), RunConfig(method="mcat", prompt_len=10))
    assert not same(RunConfig(), RunConfig(prompt_len=10))
    assert same(RunConfig(seed=2), RunConfig(seed=2, data_seed=2))
    assert same(RunConfig(), RunConfig(epochs=50, lr_router=0.1))
    assert same(RunConfig(k=8), RunConfig(k=8, temperature_schedule="by_k"))  # T0 5 both
    assert same(RunConfig(k=8), RunConfig(k=8, epochs_preset="paper", epochs=100))
    assert not same(RunConfig(), RunConfig(epochs_preset="short"))
    assert same(RunConfig(name="a", tags=["x"], note="n", group="g"), RunConfig())


def test_device_and_precision_are_part_of_it():
    cpu, gpu = RunConfig(device="cpu"), RunConfig(device="cuda")
    assert (cpu.compute, gpu.compute) == ("cpu-fp32", "cuda-bf16")
    assert not same(cpu, gpu)
    assert not same(gpu, RunConfig(device="cuda", bf16=False))
    assert same(cpu, RunConfig(device="cpu", bf16=False))  # bf16 only applies on a GPU


def test_config_key_ignores_seeds_only():
    assert RunConfig(seed=1).config_key() == RunConfig(seed=2, data_seed=5).config_key()
    assert RunConfig(seed=1).fingerprint() != RunConfig(seed=2).fingerprint()
    assert RunConfig().config_key() != RunConfig(k=8).config_key()


def test_an_old_run_folder_keeps_its_stored_identity(runs_dir):
    """A folder written before these keys existed is listed with the keys it stored."""
    folder = runs_dir / "20250101-000000-ssum-0001"
    folder.mkdir()
    old = {k: v for k, v in RunConfig(device="cpu").to_dict().items()
           if k not in ("max_new_tokens", "repetition_penalty")}
    (folder / "config.json").write_text(json.dumps({
        "run_id": folder.name, "created": "2025-01-01T00:00:00+00:00", "config": old,
        "resolved": {"prompt_len": 20}, "fingerprint": "old-fp", "config_key": "old-key"}))
    (folder / "status.json").write_text(json.dumps({"status": "done"}))
    summary = RunStore(runs_dir).sync(folder.name)
    assert (summary["fingerprint"], summary["config_key"]) == ("old-fp", "old-key")
    assert RunConfig.from_dict(old).generation["max_new_tokens"] == 50  # still loads
