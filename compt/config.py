"""Run configuration: one dataclass, loaded from TOML/YAML plus ``key=value`` overrides.

Every knob of a run lives here, so that a run folder's ``config.json`` says exactly what
was trained, sweeps can vary any key, and tables can group runs by everything but seeds.
Validation turns every mistake into a ``ComptError`` that names the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compt import methods
from compt.errors import ComptError
from compt.files import load_file
from compt.model.kinds import KINDS
from compt.names import check_group, check_note, check_tag, executor_names

METHODS = methods.names()  # the registry's order: pt, the baselines, the compositions
CHOICES: dict[str, tuple[str, ...]] = {
    "method": METHODS,
    "placement": ("after", "before"),
    "private_init": ("vocab", "first_ids", "uniform"),
    "prompt_encoder": ("mlp", "none"),
    "router": ("learned", "constant"),
    "temperature_schedule": ("fixed", "by_k"),
    "decoding": ("rank", "greedy"),
    "device": ("auto", "cpu", "cuda"),
    "backbone": ("auto", *KINDS),
    "label_loss": ("tokens", "verbalizer"),
    "sampling": ("random", "balanced"),
    "epochs_preset": ("paper", "short"),
    "source_init": ("uniform", "embedding", "zero"),
    "product_norm": ("raw", "matched"),
}

# Keys that only describe a run (not what it computes): ignored when comparing configs.
META_KEYS = ("name", "group", "tags", "note")
# Keys an identity records through the value they resolve to (``prompt_len`` unset and
# ``prompt_len=20`` compute the same; ``device=auto`` is where it runs).
RESOLVED_KEYS = ("prompt_len", "data_seed", "epochs", "epochs_preset", "double_epochs_small_k",
                 "lr_router", "lr_source", "lr_private", "temperature", "temperature_schedule",
                 "device", "bf16")
# Keys that change how fast a run computes, not its numbers (beyond float rounding).
SPEED_KEYS = ("prefix_cache", "prefix_cache_mb")
# ``compt run --quick``: a first run that ends in well under a minute on an idle 2-core CPU
# and still learns (docs/results_front_door.md): fewer steps, a smaller fixed test subset,
# no per-prompt analysis. Options and --set still override it.
QUICK = {"max_steps": 60, "eval_size": 100, "analysis": False}
# Keys that pick random draws: runs differing only here are seeds of one configuration.
SEED_KEYS = ("seed", "data_seed")


@dataclass
class RunConfig:
    """Everything that defines one ComPT training run (the method: docs/method.md)."""

    # what to train on
    model: str = "all-MiniLM-L6-v2"
    backbone: str = "auto"
    tasks: list[str] = field(default_factory=lambda: ["builtin"])
    k: int = 16
    sampling: str = "random"
    eval_size: int | None = 200
    dev_size: int | None = None  # held-out train examples per task: best-checkpoint selection
    max_length: int = 400  # prompt included; the paper's 400 (docs/results_lengths.md)
    # the method
    method: str = "ssum"
    n_sources: int = 3
    prompt_len: int | None = None
    placement: str = "after"
    private_init: str = "vocab"
    prompt_encoder: str = "mlp"
    private_encoder: bool = True
    encoder_hidden: int | None = None
    source_init: str = "uniform"
    product_norm: str = "raw"
    pool_prompt: bool = True
    router: str = "learned"
    temperature: float = 5.0
    temperature_min: float = 1e-3
    temperature_schedule: str = "fixed"
    init_sources_from: str | None = None
    logit_scale: float = 20.0
    label_loss: str = "tokens"
    length_norm: bool = False
    prefix_cache: bool = True  # causal, prompt after the input: reuse the input's keys/values
    prefix_cache_mb: int = 2048  # memory the cached keys/values may take
    # optimisation
    epochs: int | None = None
    epochs_preset: str = "paper"
    double_epochs_small_k: bool = True
    max_steps: int | None = None
    batch_size: int | None = None
    lr_router: float | None = None
    lr_source: float | None = None
    lr_private: float | None = None
    weight_decay: float = 0.01
    warmup: float = 0.2
    grad_clip: float = 1.0
    seed: int = 0
    data_seed: int | None = None
    # evaluation and bookkeeping
    decoding: str = "rank"
    max_new_tokens: int = 50  # greedy decoding: the authors' length limit and penalty
    repetition_penalty: float = 2.0
    analysis: bool = True
    analysis_eval_size: int | None = 100
    eval_every: int = 0
    checkpoint_every: int = 50
    device: str = "auto"
    bf16: bool = True
    name: str = ""
    group: str = ""
    tags: list[str] = field(default_factory=list)
    note: str = ""

    # -- derived values (the method's presets; docs/method.md) ------

    @property
    def method_spec(self) -> methods.Method:
        return methods.get_method(self.method)

    @property
    def effective_prompt_len(self) -> int:
        if self.prompt_len is not None:
            return self.prompt_len
        return self.method_spec.prompt_len

    @property
    def effective_data_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def learning_rates(self) -> dict[str, float]:
        """Router / source / private learning rates, the paper's presets unless set."""
        preset = self.method_spec.learning_rates
        given = (self.lr_router, self.lr_source, self.lr_private)
        router, source, private = (g if g is not None else p for g, p in zip(given, preset))
        return {"router": router, "source": source, "private": private}

    @property
    def effective_epochs(self) -> int:
        """``epochs`` if set, else the preset: paper 50 (mcat 40); short 20 (mcat 16).

        Either preset is doubled when k <= 10, as in the paper. "short" trains 2.5x faster
        for quick checks on a CPU. A method with two stages trains this many in each.
        """
        if self.epochs is not None:
            return self.epochs
        base = self.method_spec.epochs(50 if self.epochs_preset == "paper" else 20)
        return base * 2 if self.double_epochs_small_k and self.k <= 10 else base

    @property
    def initial_temperature(self) -> float:
        """T0; ``by_k`` follows the authors' later code (5 below k=10, 3 below 20, else 1)."""
        if self.temperature_schedule == "by_k":
            return 5.0 if self.k < 10 else 3.0 if self.k < 20 else 1.0
        return self.temperature

    @property
    def generation(self) -> dict[str, Any]:
        """Greedy decoding's options, passed to the backbone's ``generate``."""
        return {"max_new_tokens": self.max_new_tokens,
                "repetition_penalty": self.repetition_penalty}

    @property
    def uses_sources(self) -> bool:
        return self.method_spec.has_sources and self.n_sources > 0

    def resolved(self) -> dict[str, Any]:
        """The derived values a run actually used, stored beside the config."""
        return {
            "prompt_len": self.effective_prompt_len,
            "data_seed": self.effective_data_seed,
            "epochs": self.effective_epochs,
            "learning_rates": self.learning_rates,
            "initial_temperature": self.initial_temperature,
            "compute": self.compute,
        }

    # -- (de)serialisation ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def compute(self) -> str:
        """Where and in what precision the run computes ("cpu-fp32", "cuda-bf16")."""
        device = self.device
        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        return f"{device}-{'bf16' if device == 'cuda' and self.bf16 else 'fp32'}"

    def identity(self) -> dict[str, Any]:
        """What the run computes: descriptive keys dropped, derived values resolved, plus
        the device and precision. Two runs with equal identity compute the same."""
        given = {k: v for k, v in self.to_dict().items()
                 if k not in META_KEYS + RESOLVED_KEYS + SPEED_KEYS}
        return {**given, **self.resolved()}

    def fingerprint(self) -> str:
        """The identity's hash: sweeps skip a cell whose fingerprint already ran."""
        return _digest(self.identity())

    def config_key(self) -> str:
        """The identity's hash without the seeds: runs sharing it are seeds of one setting."""
        return _digest({k: v for k, v in self.identity().items() if k not in SEED_KEYS})

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        cfg = cls()
        for key, value in data.items():
            set_value(cfg, key, value, source)
        validate(cfg)
        return cfg


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(RunConfig))


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.cache
def _cuda_available() -> bool:
    import torch  # only here: config is imported by commands that never train

    return bool(torch.cuda.is_available())


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """Keys, in first-seen order, whose values are not the same in every config."""
    keys = dict.fromkeys(k for c in configs for k in c)
    return [k for k in keys
            if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1]
_HINTS = typing.get_type_hints(RunConfig)


LR_KEYS = ("lr_router", "lr_source", "lr_private")
# What people call a key elsewhere (other tools, papers) -> the keys they mean here; a typo
# of one of these names is answered with its keys, not with whichever key is spelled alike.
KEY_ALIASES: dict[str, tuple[str, ...]] = {
    "learning_rate": LR_KEYS, "lr": LR_KEYS, "learning_rates": LR_KEYS,
    "num_sources": ("n_sources",), "sources": ("n_sources",),
    "prompt_length": ("prompt_len",), "num_prompt_tokens": ("prompt_len",),
    "steps": ("max_steps",), "num_epochs": ("epochs", "epochs_preset"),
    "shots": ("k",), "k_shot": ("k",), "num_shots": ("k",),
    "temp": ("temperature", "temperature_min"), "batch": ("batch_size",),
    "max_len": ("max_length",), "wd": ("weight_decay",), "gpu": ("device",),
    "warmup_steps": ("warmup",), "model_name": ("model",), "task": ("tasks",),
}


def suggest_keys(key: str) -> list[str]:
    """Keys the user may have meant: through ``KEY_ALIASES``, then by spelling."""
    norm = key.lower().replace("-", "_")
    found: list[str] = []
    for alias in difflib.get_close_matches(norm, KEY_ALIASES, n=2, cutoff=0.75):
        found += KEY_ALIASES[alias]
    found += difflib.get_close_matches(norm, FIELD_NAMES, n=3, cutoff=0.6)
    return list(dict.fromkeys(found))


def unknown_key_error(key: str, source: str) -> ComptError:
    close = [f"'{k}'" for k in suggest_keys(key)]
    hint = ""
    if close:
        listed = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        hint = f" Did you mean {listed}?"
    return ComptError(
        f"Unknown config key '{key}' in {source}.{hint} "
        f"Valid keys: {', '.join(FIELD_NAMES)}."
    )


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Turn ``value`` (possibly a string from the command line) into the field's type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        inner = next(a for a in args if a is not type(None))
        return _coerce(key, value, inner)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            value = [value]
        return [_coerce(key, v, args[0]) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ComptError(f"Config key '{key}' must be true or false, got {value!r}.")
    if hint is int:
        if isinstance(value, bool):
            raise ComptError(f"Config key '{key}' must be a whole number, got {value!r}.")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ComptError(f"Config key '{key}' must be a whole number, got {value!r}.") from None
        if not as_float.is_integer():
            raise ComptError(f"Config key '{key}' must be a whole number, got {value!r}.")
        return int(as_float)
    if hint is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ComptError(f"Config key '{key}' must be a number, got {value!r}.") from None
    return str(value)


def set_value(cfg: RunConfig, key: str, value: Any, source: str = "command line") -> None:
    key = key.strip().replace("-", "_")
    if key not in FIELD_NAMES:
        raise unknown_key_error(key, source)
    setattr(cfg, key, _coerce(key, value, _HINTS[key]))


def validate(cfg: RunConfig) -> None:
    """Check ranges and choices; raise ``ComptError`` naming the key and what is allowed."""
    for key, allowed in CHOICES.items():
        value = getattr(cfg, key)
        if value not in allowed:
            raise ComptError(
                f"Config key '{key}' has value {value!r}; allowed values: {', '.join(allowed)}."
            )
    positive = ("k", "max_length", "n_sources", "logit_scale", "max_new_tokens",
                "repetition_penalty")
    for key in positive:
        if getattr(cfg, key) <= 0 and not (key == "n_sources" and not cfg.method_spec.has_sources):
            raise ComptError(f"Config key '{key}' must be positive, got {getattr(cfg, key)}.")
    for key in ("prompt_len", "epochs", "max_steps", "batch_size", "eval_size", "dev_size",
                "analysis_eval_size", "encoder_hidden"):
        value = getattr(cfg, key)
        if value is not None and value <= 0:
            raise ComptError(f"Config key '{key}' must be positive or unset, got {value}.")
    if not 0.0 <= cfg.warmup < 1.0:
        raise ComptError(f"Config key 'warmup' is a fraction of steps in [0, 1), got {cfg.warmup}.")
    if cfg.temperature <= 0 or cfg.temperature_min <= 0:
        raise ComptError("Config keys 'temperature' and 'temperature_min' must be positive.")
    for key in ("lr_router", "lr_source", "lr_private", "prefix_cache_mb"):
        value = getattr(cfg, key)
        if value is not None and value < 0:
            raise ComptError(f"Config key '{key}' must be zero or positive, got {value}.")
    if not cfg.tasks:
        raise ComptError("Config key 'tasks' is empty: name at least one task or suite.")
    if cfg.group:
        check_group(cfg.group)
    cfg.tags = [check_tag(str(tag)) for tag in cfg.tags]
    cfg.note = check_note(str(cfg.note))
    target_len = cfg.method_spec.target_len(cfg.effective_prompt_len, cfg.n_sources)
    if target_len > cfg.effective_prompt_len and target_len >= cfg.max_length:
        raise ComptError(
            f"A {cfg.method} prompt of {cfg.n_sources} x {cfg.effective_prompt_len} tokens "
            f"leaves no room for the input within max_length={cfg.max_length}."
        )
    if cfg.effective_prompt_len >= cfg.max_length:
        raise ComptError(
            f"prompt_len={cfg.effective_prompt_len} leaves no room for the input within "
            f"max_length={cfg.max_length}."
        )


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value``; the value is read as YAML so ``8``, ``0.1``, ``[a, b]`` work."""
    if "=" not in text:
        raise ComptError(f"Override '{text}' must look like key=value (for example k=8).")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def build_config(
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
) -> RunConfig:
    """Config file, then typed overrides, then ``key=value`` strings; validated at the end."""
    cfg = RunConfig()
    if path is not None:
        for key, value in load_file(path).items():
            if key not in executor_names():  # [slurm]: options of an executor, not of the run
                set_value(cfg, key, value, f"config file '{path}'")
    for key, value in (overrides or {}).items():
        if value is not None:
            set_value(cfg, key, value)
    for text in sets or []:
        key, value = parse_override(text)
        set_value(cfg, key, value)
    validate(cfg)
    return cfg
