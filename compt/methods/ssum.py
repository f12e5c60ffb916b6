"""ssum: private prompt plus the router-weighted sum of the sources (docs/method.md §Model).
"""

from __future__ import annotations

from compt.methods import register
from compt.methods.composition import Composition


class SumComposition(Composition):
    name = "ssum"
    order = 50
    summary = "ComPT: private prompt + weighted sum of source prompts"

    def combine(self, private, mixed, mask):
        return mixed + private if mask.private else mixed


register(SumComposition())
