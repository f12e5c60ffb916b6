"""The backbone kinds compt knows, defined once (config choices and the registry use them).

Kept free of torch so that the configuration and the CLI import it cheaply.
"""

from __future__ import annotations

from typing import Literal, get_args

BackboneKind = Literal["encoder", "seq2seq", "causal"]
KINDS: tuple[str, ...] = get_args(BackboneKind)
