"""ComPT model: frozen backbones, composed prompts, and the glue between them."""

from compt.data import Batch
from compt.model.loading import load_backbone
from compt.model.prompted import PromptedModel
from compt.model.prompts import FULL, PromptMask

__all__ = ["FULL", "Batch", "PromptMask", "PromptedModel", "load_backbone"]
