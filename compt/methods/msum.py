"""msum: private prompt times the router-weighted sum of the sources (docs/method.md §Model)."""

from __future__ import annotations

from compt.methods import register
from compt.methods.composition import Composition


class ProductComposition(Composition):
    name = "msum"
    order = 60
    summary = "ComPT: private prompt x weighted sum of source prompts"
    additive = False

    def combine(self, private, mixed, mask):
        return private * mixed  # the private prompt is a factor, never dropped


register(ProductComposition())
