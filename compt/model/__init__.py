"""ComPT model: frozen backbones, composed prompts, and the glue between them.

Names are imported on first use, so that light modules (``compt.model.kinds``, read by the
configuration and the CLI) do not pull in torch. The same names are imported for type
checkers below, so that mypy sees each one's real type rather than the ``Any`` that a
module ``__getattr__`` would give it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compt.data import Batch
    from compt.methods.base import FULL, PromptMask
    from compt.model.backbones import Backbone, BackboneOptions
    from compt.model.loading import load_backbone
    from compt.model.prompted import PromptedModel

_HOMES = {
    "load_backbone": "compt.model.loading",
    "Batch": "compt.data",
    "PromptedModel": "compt.model.prompted",
    "FULL": "compt.methods.base",
    "PromptMask": "compt.methods.base",
    "Backbone": "compt.model.backbones",
    "BackboneOptions": "compt.model.backbones",
}

__all__ = ["FULL", "Backbone", "BackboneOptions", "Batch", "PromptMask", "PromptedModel",
           "load_backbone"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'compt.model' has no attribute {name!r}")
