"""ComPT model: frozen backbones, composed prompts, and the glue between them."""

from compt.model.loading import load_backbone
from compt.model.prompted import Batch, PromptedModel
from compt.model.prompts import FULL, PromptMask

__all__ = ["FULL", "Batch", "PromptMask", "PromptedModel", "load_backbone"]
