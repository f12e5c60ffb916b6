"""What a method is: its presets, how it builds each task's target prompt, its analyses.

A method is a small strategy object, not a model: ``compt.model.prompts.ComposedPrompt``
holds the trainable tensors (private prompts, source prompts, router, extra parts) and asks
its method how to combine them. Method modules import torch only inside the functions that
compute, so that the config, the store and the TUI can read the registry without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch
    from torch import nn

# compt.model.prompts.ComposedPrompt: the prompt a method composes. The model sits above the
# methods (it asks its method how to combine), so the base class cannot import it; each
# method's own module can, and annotates with it.
ComposedPrompt = Any

# Presets shared by most methods (docs/method.md §Training): router, source, private lrs.
DEFAULT_LRS = (0.1, 0.05, 0.02)


@dataclass(frozen=True)
class PromptMask:
    """Which prompts take part, for the per-prompt analysis (docs/method.md#analyses).

    ``sources``: indices of kept sources (None = all). ``private``: keep the private prompt.
    """

    sources: tuple[int, ...] | None = None
    private: bool = True


FULL = PromptMask()


class Method:
    """One way of sharing prompts across tasks. Subclass, set the class attributes, and
    ``register`` an instance in the method's own module (``compt/methods/<name>.py``)."""

    name: ClassVar[str]
    order: ClassVar[int]  # row order in tables (pt, the baseline, first)
    summary: ClassVar[str]  # one line for help texts
    family: ClassVar[str] = "baseline"  # "composition" for ComPT's own methods
    prompt_len: ClassVar[int] = 20
    learning_rates: ClassVar[tuple[float, float, float]] = DEFAULT_LRS
    has_sources: ClassVar[bool] = False  # trains shared source prompts (config n_sources)
    has_router: ClassVar[bool] = False
    source_init: ClassVar[str] = "uniform"  # or "vocab": sources start like pt's prompts
    stages: ClassVar[tuple[str, ...]] = ("train",)  # several: trained one after the other
    input_dependent: ClassVar[bool] = False  # the prompt changes with each input

    # -- presets -------------------------------------------------------------------------

    def epochs(self, base: int) -> int:
        """Epochs from the preset's base number (before doubling for small k)."""
        return base

    def n_sources(self, configured: int, n_tasks: int) -> int:
        """How many source prompts the model holds."""
        return configured if self.has_sources else 0

    def private_len(self, length: int, n_sources: int) -> int:
        """Length of each private prompt (what is initialised from the vocabulary)."""
        return length

    def target_len(self, length: int, n_sources: int) -> int:
        """Length of the prompt spliced into the input."""
        return self.private_len(length, n_sources)

    def private_count(self, n_tasks: int) -> int:
        """How many private prompts (one per task unless the method shares one)."""
        return n_tasks

    # -- the model -----------------------------------------------------------------------

    def build_parts(self, prompt: ComposedPrompt, n_tasks: int, dim: int) -> dict[str, nn.Module]:
        """Extra trainable modules beyond prompts and router (held in ``prompt.parts``)."""
        return {}

    def compose(self, prompt: ComposedPrompt, task_ids: torch.Tensor, temperature: float | None,
                mask: PromptMask, inputs: Any) -> torch.Tensor:
        """(B, P, d) target prompts. ``inputs`` = (embeds, lengths) of the batch, or None."""
        raise NotImplementedError

    def param_groups(self, prompt: ComposedPrompt) -> list[tuple[str, list]]:
        """(group name, parameters); names pick the router / source / private lr."""
        groups: list[tuple[str, list]] = [("private", list(prompt.private.parameters()))]
        if prompt.n_sources and prompt.sources is not None:
            groups.append(("source", list(prompt.sources.parameters())))
        if prompt.router is not None and prompt.router.learned:
            groups.append(("router", [prompt.router.logits]))
        return groups

    def enter_stage(self, prompt: ComposedPrompt, stage: int, fresh: bool) -> None:
        """Switch to ``stage``; ``fresh`` is False when resuming (the checkpoint follows)."""
        prompt.stage = stage

    # -- analysis ------------------------------------------------------------------------

    def masks(self, n_sources: int) -> dict[str, PromptMask]:
        """Per-prompt analysis columns -> masks; empty if the method has no separable parts."""
        return {}

    def router_table(self, prompt: ComposedPrompt) -> dict[str, Any] | None:
        """Mixing weights for results.json (``sources`` names the columns)."""
        if prompt.router is None:
            return None
        import torch

        with torch.no_grad():
            logits = prompt.router.logits.detach().float()
            if not prompt.router.learned:
                logits = torch.zeros_like(logits)
            weights = torch.softmax(logits, dim=-1)
        return {"sources": [f"src_{i + 1}" for i in range(prompt.n_sources)],
                "logits": logits.tolist(), "weights": weights.tolist()}
