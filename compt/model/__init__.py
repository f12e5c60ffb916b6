"""ComPT model: frozen backbones, composed prompts, and the glue between them.

Names are imported on first use, so that light modules (``compt.model.kinds``, read by the
configuration and the CLI) do not pull in torch.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "load_backbone": "compt.model.loading",
    "Batch": "compt.model.prompted",
    "PromptedModel": "compt.model.prompted",
    "FULL": "compt.model.prompts",
    "PromptMask": "compt.model.prompts",
    "Backbone": "compt.model.backbones",
    "BackboneOptions": "compt.model.backbones",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'compt.model' has no attribute {name!r}")
