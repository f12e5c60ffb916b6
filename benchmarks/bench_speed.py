"""Training-step speed: compt pt / ssum vs PEFT prompt tuning vs the bare frozen backbone.

One step = forward + backward + AdamW step over the trainable parameters only. Every
variant runs in this one process on the same frozen weights, the same batch size and the
same total length (input + prompt), in interleaved rounds (the order rotates each round)
so that drift in machine load hits all of them alike. Variants:

- ``pt``     compt vanilla prompt tuning, compt defaults (MLP encoder, prompt after input)
- ``ssum``   compt ComPT ssum: 3 sources, 3 tasks mixed in every batch
- ``peft``   PEFT ``PromptTuningConfig`` (the reference)
- ``floor``  the backbone alone at the same total length, gradients to ``inputs_embeds``
             only (no prompt code, no optimizer): no prompt method can be faster
- ``pt-exact`` (``--exact``) compt pt with placement=before and no encoder, i.e. PEFT's
             computation, to separate compt's own overhead from its encoder
- ``pt-fullhead`` (causal models) compt pt with the LM head applied at every position
             (the naive way) instead of only where label tokens are scored

Backbones: ``random-t5-small`` (t5-small shape, random weights; seq2seq loss on a short
label) and ``all-MiniLM-L6-v2`` (compt's encoder loss; PEFT ``FEATURE_EXTRACTION`` prompt
tuning with the same pooled-cosine loss); for decoder-only models ``random-llama``
(a small Llama shape with Llama 2's 32k vocabulary) and ``random-gemma`` (Gemma 3 270M's
width and 262k vocabulary with 4 of its 18 layers), both with random weights, against PEFT
``CAUSAL_LM`` prompt tuning (whose model computes logits at every position). Run:

    python benchmarks/bench_speed.py              # defaults: batch 16, input 108 + prompt 20
    python benchmarks/bench_speed.py --quick      # a smoke run
    python benchmarks/bench_speed.py --models random-llama,random-gemma --batch 8 \
        --input-len 44                            # the causal case (see results_speed.md)
    python benchmarks/bench_speed.py --profile    # per-op costs and compt's work beyond PEFT

Torch threads default to the cores other processes leave free (see ``free_cores``); the
CPU-time column is the process's CPU seconds per step, steadier than wall time when the
machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from compt.config import RunConfig  # noqa: E402
from compt.model import Batch, PromptedModel, load_backbone  # noqa: E402
from compt.model.backbones import IGNORE, Backbone, CausalBackbone  # noqa: E402
from compt.model.backbones.causal import append_tokens  # noqa: E402
from compt.train import make_optimizer  # noqa: E402

LABEL_WORDS = [["positive", "negative"], ["entailment", "not_entailment"],
               ["acceptable", "unacceptable"], ["equivalent", "not_equivalent"]]
Step = Callable[[], float]
RATIOS = [("pt", "peft"), ("ssum", "peft"), ("pt-exact", "peft"), ("pt", "floor"),
          ("ssum", "floor"), ("peft", "floor"), ("pt-exact", "floor"), ("pt", "pt-fullhead")]
RANDOM_CAUSAL = {
    "random-llama": ("LlamaConfig", dict(
        vocab_size=32000, hidden_size=512, intermediate_size=1376, num_hidden_layers=6,
        num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=512)),
    "random-gemma": ("Gemma3TextConfig", dict(
        vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=1, head_dim=256,
        max_position_embeddings=1024)),
}


class FullHeadCausal(CausalBackbone):
    """The naive causal loss: the model's own forward, logits at every position."""

    def _label_logprobs(self, embeds, mask, targets):
        keep = targets != IGNORE
        given = targets[:, :-1]
        seq, seq_mask = append_tokens(embeds, mask, self.embed(given.clamp(min=0)), keep[:, :-1])
        logits = self.model(inputs_embeds=seq, attention_mask=seq_mask).logits
        where = mask.sum(1)[:, None] - 1 + torch.arange(targets.shape[1])
        logp = torch.log_softmax(logits.float(), dim=-1).gather(
            1, where[..., None].expand(-1, -1, logits.shape[-1]))
        return logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1) * keep


def make_backbone(name: str, cls: type[Backbone] | None = None) -> Backbone:
    """A built-in backbone, or a random causal one of a known shape (seeded, shared)."""
    if name not in RANDOM_CAUSAL:
        return load_backbone(name)
    import transformers

    config_class, shape = RANDOM_CAUSAL[name]
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(
        getattr(transformers, config_class)(**shape))
    return (cls or CausalBackbone)(model, transformers.ByT5Tokenizer(), name)


def free_cores() -> int:
    """Cores that other processes leave free (1-minute load average), at least one.

    On a shared machine, torch threads beyond the free cores spin-wait on each other and a
    step can take several times longer, with a wild spread; one thread stays steady.
    """
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores, cores - round(os.getloadavg()[0])))


def make_batch(backbone: Backbone, size: int, length: int, n_tasks: int) -> Batch:
    """Random full-length inputs (no padding, so every variant sees exactly one shape)."""
    gen = torch.Generator().manual_seed(0)
    vocab = backbone.embedding_matrix.shape[0]
    task_ids = torch.arange(size) % n_tasks
    return Batch(
        input_ids=torch.randint(3, vocab, (size, length), generator=gen),
        lengths=torch.full((size,), length),
        task_ids=task_ids,
        labels=torch.randint(2, (size,), generator=gen),
        label_tasks=task_ids,
    )


def seq2seq_targets(backbone: Backbone, batch: Batch) -> torch.Tensor:
    return backbone.label_bank[batch.label_tasks, batch.labels]


def optimizer_step(loss_fn: Callable[[], torch.Tensor], optimizer) -> Step:
    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def compt_step(backbone: Backbone, batch: Batch, n_tasks: int, **config) -> Step:
    cfg = RunConfig(model=backbone.name, **config)
    torch.manual_seed(0)
    model = PromptedModel(backbone, cfg, n_tasks)
    optimizer = make_optimizer(model, cfg)  # exactly what the trainer uses
    return optimizer_step(lambda: model.loss(batch, temperature=1.0), optimizer)


def peft_step(backbone: Backbone, batch: Batch, prompt_len: int) -> Step:
    """PEFT prompt tuning on the same (shared, frozen) backbone module."""
    import peft

    task = {"seq2seq": "SEQ_2_SEQ_LM", "causal": "CAUSAL_LM"}.get(backbone.kind,
                                                                 "FEATURE_EXTRACTION")
    model = peft.get_peft_model(backbone.model, peft.PromptTuningConfig(
        task_type=task, num_virtual_tokens=prompt_len))
    model.eval()
    mask = torch.ones_like(batch.input_ids)
    if backbone.kind == "causal":  # [input, label tokens]; PEFT puts the prompt first
        targets = seq2seq_targets(backbone, batch)
        keep = targets != IGNORE
        ids = torch.cat([batch.input_ids, targets.clamp(min=0)], dim=1)
        full = torch.cat([mask, keep.long()], dim=1)
        labels = torch.cat([torch.full_like(batch.input_ids, IGNORE), targets], dim=1)

        def loss() -> torch.Tensor:
            return model(input_ids=ids, attention_mask=full, labels=labels).loss
    elif backbone.kind == "seq2seq":
        targets = seq2seq_targets(backbone, batch)

        def loss() -> torch.Tensor:
            return model(input_ids=batch.input_ids, attention_mask=mask, labels=targets).loss
    else:
        full_mask = torch.ones(len(batch), batch.input_ids.shape[1] + prompt_len)

        def loss() -> torch.Tensor:  # compt's encoder loss on PEFT's prompted output
            hidden = model(input_ids=batch.input_ids, attention_mask=mask).last_hidden_state
            pooled = (hidden * full_mask[..., None]).sum(1) / full_mask.sum(1, keepdim=True)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            sims = torch.einsum("bd,bcd->bc", pooled, backbone.label_bank[batch.label_tasks])
            return torch.nn.functional.cross_entropy(backbone.logit_scale * sims, batch.labels)

    params = [p for p in model.parameters() if p.requires_grad]
    # the same (fused) AdamW as compt's trainer, so only the prompt code differs
    return optimizer_step(loss, torch.optim.AdamW(params, lr=0.02, weight_decay=0.01,
                                                  fused=True))


def floor_step(backbone: Backbone, batch: Batch, prompt_len: int) -> Step:
    """The backbone's own forward + backward at input + prompt length, into the embeddings."""
    size, length = batch.input_ids.shape
    ids = torch.randint(3, backbone.embedding_matrix.shape[0], (size, length + prompt_len),
                        generator=torch.Generator().manual_seed(1))
    embeds = backbone.embed(ids).detach().requires_grad_(True)
    mask = torch.ones(ids.shape, dtype=torch.long)

    def step() -> float:
        embeds.grad = None
        loss = backbone.loss(embeds, mask, batch.label_tasks, batch.labels)
        loss.backward()
        return loss.item()
    return step


def build_variants(name: str, args: argparse.Namespace) -> dict[str, Step]:
    backbone = make_backbone(name)
    backbone.set_labels(LABEL_WORDS[: args.tasks])
    batch = make_batch(backbone, args.batch, args.input_len, args.tasks)
    common = dict(prompt_len=args.prompt_len, max_length=args.input_len + args.prompt_len)
    variants = {
        "pt": compt_step(backbone, batch, args.tasks, method="pt", **common),
        "ssum": compt_step(backbone, batch, args.tasks, method="ssum", n_sources=args.sources,
                           **common),
        "peft": peft_step(backbone, batch, args.prompt_len),
        "floor": floor_step(backbone, batch, args.prompt_len),
    }
    if backbone.kind == "causal":
        naive = FullHeadCausal(backbone.model, backbone.tokenizer, name)
        naive.set_labels(LABEL_WORDS[: args.tasks])
        variants["pt-fullhead"] = compt_step(naive, batch, args.tasks, method="pt", **common)
    if args.exact:
        variants["pt-exact"] = compt_step(backbone, batch, args.tasks, method="pt",
                                          placement="before", prompt_encoder="none", **common)
    return variants


def measure(variants: dict[str, Step], rounds: int, steps: int, warmup: int
            ) -> dict[str, list[list[tuple[float, float]]]]:
    """(wall, process CPU) seconds per step, per round, per variant; the order rotates."""
    for step in variants.values():
        for _ in range(warmup):
            step()
    names = list(variants)
    times: dict[str, list[list[tuple[float, float]]]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            row = []
            for _ in range(steps):
                wall, cpu = time.perf_counter(), time.process_time()
                variants[name]()
                row.append((time.perf_counter() - wall, time.process_time() - cpu))
            times[name].append(row)
    return times


def summarize(times: dict[str, list[list[tuple[float, float]]]]) -> dict[str, dict]:
    """Median and spread per variant; ratios of medians plus their range over rounds.

    A round's ratio pairs two variants measured back to back, so its range shows how far
    machine noise moves the comparison.
    """
    def med(rows, k: int) -> float:
        return statistics.median(t[k] for row in rows for t in row)

    out: dict[str, dict] = {}
    for name, rows in times.items():
        walls = sorted(t[0] for row in rows for t in row)
        out[name] = {"median_ms": 1e3 * med(rows, 0), "cpu_ms": 1e3 * med(rows, 1),
                     "min_ms": 1e3 * walls[0], "max_ms": 1e3 * walls[-1], "n": len(walls)}
    for a, b in RATIOS:
        if a in times and b in times:
            entry = {}
            for k, label in ((0, "wall"), (1, "cpu")):
                rounds = [med([ra], k) / med([rb], k) for ra, rb in zip(times[a], times[b])]
                entry[label] = (med(times[a], k) / med(times[b], k), min(rounds), max(rounds))
            out[f"{a}/{b}"] = entry
    return out


def markdown(model: str, summary: dict[str, dict]) -> str:
    lines = [f"**{model}**", "", "| variant | median ms/step | min–max ms | CPU ms/step | steps |",
             "|---|---:|---:|---:|---:|"]
    for name, s in summary.items():
        if "median_ms" in s:
            lines.append(f"| {name} | {s['median_ms']:.0f} | {s['min_ms']:.0f}–{s['max_ms']:.0f}"
                         f" | {s['cpu_ms']:.0f} | {s['n']} |")
    lines += ["", "| ratio | wall | wall, range over rounds | CPU time | CPU, range over rounds |",
              "|---|---:|---:|---:|---:|"]
    for name, s in summary.items():
        if "wall" in s:
            (w, w_lo, w_hi), (c, c_lo, c_hi) = s["wall"], s["cpu"]
            lines.append(f"| {name} | {w:.3f} | {w_lo:.2f}–{w_hi:.2f} | {c:.3f} | "
                         f"{c_lo:.2f}–{c_hi:.2f} |")
    return "\n".join(lines) + "\n"


def profile(variants: dict[str, Step], steps: int) -> None:
    """Where the time goes, and what each variant computes beyond PEFT.

    Per variant: torch.profiler's top operators by self CPU time. Then, per compt variant,
    the operators (name + input shapes) it calls more often than PEFT does, with their self
    time per step: that is compt's own work, measured op by op, so machine noise that
    swamps a few-percent difference in whole-step times does not hide it.
    """
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    ops: dict[str, dict[tuple[str, str], tuple[int, float]]] = {}
    for name, step in variants.items():
        step()
        with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for _ in range(steps):
                step()
        averages = prof.key_averages(group_by_input_shape=True)
        ops[name] = {(e.key, str(e.input_shapes)): (e.count, e.self_cpu_time_total / 1e3 / steps)
                     for e in averages}
        print(f"\n=== {name}: self CPU {sum(t for _, t in ops[name].values()):.0f} ms/step ===")
        print(averages.table(sort_by="self_cpu_time_total", row_limit=8,
                             max_name_column_width=40, max_shapes_column_width=50))
    for name in (n for n in ops if n not in ("peft", "floor")):
        extra = []
        for key, (count, ms) in ops[name].items():
            base = ops["peft"].get(key, (0, 0.0))[0]
            if count > base:
                extra.append((ms * (count - base) / count, key))
        extra.sort(reverse=True)
        print(f"\n--- {name}: work beyond PEFT, {sum(ms for ms, _ in extra):.1f} ms/step ---")
        for ms, (op, shapes) in extra[:10]:
            print(f"{ms:8.2f} ms  {op:28s} {shapes[:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="random-t5-small,all-MiniLM-L6-v2")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--input-len", type=int, default=108)
    parser.add_argument("--prompt-len", type=int, default=20)
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=3, help="tasks mixed in every batch")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1, help="measured steps per round")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, help="torch threads (default: the free cores)")
    parser.add_argument("--exact", action="store_true", help="also time pt-exact (see above)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 step, batch 8")
    parser.add_argument("--profile", action="store_true", help="profile instead of timing")
    parser.add_argument("--json", type=Path, help="also write every step time here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.steps, args.warmup, args.batch = 2, 1, 1, 8
    if not 1 <= args.tasks <= len(LABEL_WORDS):
        parser.error(f"--tasks must be between 1 and {len(LABEL_WORDS)}")
    args.threads = args.threads or free_cores()
    torch.set_num_threads(args.threads)

    print(f"# {cpu_name()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"torch {torch.__version__}, {args.threads} threads; batch {args.batch}, input "
          f"{args.input_len} + prompt {args.prompt_len}; ssum {args.sources} sources; "
          f"{args.tasks} tasks per batch; {args.rounds} rounds x {args.steps} steps after "
          f"{args.warmup} warm-up\n", flush=True)
    raw = {}
    for model in args.models.split(","):
        began = time.time()
        variants = build_variants(model, args)
        if args.profile:
            profile(variants, args.steps)
            continue
        times = measure(variants, args.rounds, args.steps, args.warmup)
        raw[model] = times
        print(markdown(model, summarize(times)))
        print(f"({time.time() - began:.0f} s, load average now {os.getloadavg()[0]:.1f})\n",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "times": raw}, indent=1))


if __name__ == "__main__":
    main()
