"""Frozen backbones, one class per kind, registered in ``BACKBONES`` by kind."""

from compt.model.backbones.base import (
    BACKBONES,
    IGNORE,
    Backbone,
    BackboneOptions,
    check_supported,
    register,
)
from compt.model.backbones.causal import CausalBackbone
from compt.model.backbones.encoder import EncoderBackbone
from compt.model.backbones.seq2seq import Seq2SeqBackbone

__all__ = ["BACKBONES", "IGNORE", "Backbone", "BackboneOptions", "CausalBackbone",
           "EncoderBackbone", "Seq2SeqBackbone", "check_supported", "register"]
