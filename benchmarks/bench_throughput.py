"""Throughput of the frozen-prefix cache and of evaluation that reuses work (issue 19).

Measures, each as a ratio within one run, with the load average next to it:

1. a training step with the prefix cache / without it, on a model shaped as Gemma 3 270M
   (random weights: the cost, not the numbers, is what is measured), RTE-length inputs
   (about 70 tokens), k = 8, method ssum;
2. evaluation + per-prompt analysis with the cache / without it on the same model;
3. the default run (MiniLM, built-in suite) now / before (the branch's base commit, via
   ``git archive``): evaluation + per-prompt analysis, and a training step;
4. the Gemma GLUE campaign (5 methods x 5 seeds x k = 8 and 16) priced in hours from the
   step and evaluation times of 1-2.

Times are CPU seconds of the measuring process (one thread each), which a loaded machine
distorts far less than wall time; the default run's before and now run side by side.
Prints a markdown block for docs/results_throughput.md. ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
if "--worker" not in sys.argv:  # a worker imports the tree its PYTHONPATH names
    sys.path.insert(0, str(ROOT))


def gemma_config(layers: int = 18):
    """Gemma 3 270M's shape (its config.json), random weights."""
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(
        vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=1, head_dim=256, sliding_window=512,
        max_position_embeddings=32768, query_pre_attn_scalar=256,
        layer_types=[("full_attention" if (i + 1) % 6 == 0 else "sliding_attention")
                     for i in range(layers)],
        pad_token_id=0, eos_token_id=1, bos_token_id=2)


def gemma_experiment(k: int, eval_size: int, analysis_size: int, layers: int,
                     model: str | None = None):
    """A ssum experiment on the ``entail`` task's labels with a Gemma-shaped backbone (or
    ``model``, e.g. gemma-3-270m, loaded as a run would) and synthetic inputs of 60-80
    tokens (RTE's length in Gemma tokens)."""
    import torch
    from transformers import ByT5Tokenizer, Gemma3ForCausalLM

    from compt import train
    from compt.config import RunConfig
    from compt.data import Encoded
    from compt.model import BackboneOptions
    from compt.model.backbones import CausalBackbone

    torch.manual_seed(0)
    if model is None:
        backbone = CausalBackbone(Gemma3ForCausalLM(gemma_config(layers)), ByT5Tokenizer(),
                                  "gemma-shaped", BackboneOptions())
        train.load_backbone = lambda *args, **kw: backbone  # the in-memory model
    cfg = RunConfig(model=model or "gemma-shaped", tasks=["entail"], k=k,
                    eval_size=eval_size, analysis_eval_size=analysis_size, device="cpu",
                    checkpoint_every=0)
    exp = train.build_experiment(cfg)
    exp.model.backbone.label_bank = torch.tensor([[[4000], [4001], [4002]]])  # one token
    gen = torch.Generator().manual_seed(0)

    def synthetic(data: Encoded) -> Encoded:
        ids = [torch.randint(3, 262144, (int(torch.randint(60, 81, (), generator=gen)),),
                             generator=gen).tolist() for _ in data.ids]
        return Encoded(ids, data.task_ids, data.labels)

    exp.train_data, exp.eval_data = synthetic(exp.train_data), synthetic(exp.eval_data)
    return exp


def trainer_of(exp):
    from compt.runfolder import create_run_folder
    from compt.train import Trainer

    folder = create_run_folder(Path(tempfile.mkdtemp()), exp.cfg)
    return Trainer(exp, folder, logging.getLogger("bench"))


def measure_gemma(args) -> dict:
    """Training steps and evaluation with the cache and without, interleaved."""
    from compt.data import train_batches
    from compt.model.prefix import PrefixStore

    exp = gemma_experiment(8, args.eval_size, args.analysis_size, args.layers, args.model)
    trainer, model = trainer_of(exp), exp.model
    store = model.prefix_store
    batch = train_batches(exp.train_data, exp.batch_size, 0, 0, model.backbone.pad_id)[0]
    tick = time.process_time()
    trainer._step(batch, 0, 100)  # the cache's first step: the prefixes are computed here
    first = time.process_time() - tick
    times: dict[str, list[float]] = {"cached": [], "plain": []}
    for step in range(1, 2 * args.steps + 1):
        mode = "cached" if step % 2 else "plain"
        model.prefix_store = store if mode == "cached" else None
        tick = time.process_time()
        trainer._step(batch, step, 100)
        times[mode].append(time.process_time() - tick)
    evals = {}
    for mode in ("plain", "cached"):
        model.prefix_store = PrefixStore(model.backbone.prefix_states, 2048) \
            if mode == "cached" else None
        tick = time.process_time()
        trainer.evaluate()
        evals[mode] = time.process_time() - tick
    return {"batch": len(batch), "first_cached_step_s": first, "steps": times,
            "eval_s": evals, "eval_examples": len(exp.eval_data),
            "analysis_examples": len(exp.analysis_set[1]),
            "masks": len(exp.model.prompt.method.masks(exp.model.prompt.n_sources))}


def worker_default(steps: int) -> dict:
    """In the tree on PYTHONPATH: the default run's step time and evaluation + analysis."""
    import torch

    from compt.config import RunConfig
    from compt.data import train_batches
    from compt.train import build_experiment

    torch.set_num_threads(1)
    exp = build_experiment(RunConfig(device="cpu"))
    trainer = trainer_of(exp)
    batches = train_batches(exp.train_data, exp.batch_size, 0, 0, exp.model.backbone.pad_id)
    step_times = []
    for step in range(steps):
        tick = time.process_time()
        trainer._step(batches[step % len(batches)], step, 100)
        step_times.append(time.process_time() - tick)
    tick = time.process_time()
    trainer.evaluate()
    return {"step_s": step_times, "eval_s": time.process_time() - tick}


def before_tree(rev: str) -> Path:
    """The code at ``rev`` (the branch's base), unpacked into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="compt-before-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def start_worker(tree: Path, steps: int) -> subprocess.Popen:
    """The default-run measurement in its own process, importing compt from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, __file__, "--worker", str(steps)], env=env,
                            cwd=tree, stdout=subprocess.PIPE, text=True)


def result_of(worker: subprocess.Popen) -> dict:
    out, _ = worker.communicate()
    if worker.returncode:
        raise SystemExit(f"a worker failed (exit {worker.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def campaign_hours(step_s: float, batch: int, eval_s_per_example: float) -> float:
    """5 methods x 5 seeds x k in (8, 16), one task (RTE: 277 test examples, the analysis
    on 100 of them), paper epochs; step time scaled by rows from the measured batch."""
    from compt.config import RunConfig
    from compt.methods import get_method

    total = 0.0
    for method in ("pt", "ssum", "msum", "mcat", "attempt"):
        for k in (8, 16):
            cfg = RunConfig(method=method, k=k)
            rows = min(20, k)
            stages = len(get_method(method).stages)
            steps = math.ceil(k / rows) * cfg.effective_epochs * stages
            masks = len(get_method(method).masks(3))
            evals = 277 + 100 * max(0, masks - 1)
            total += 5 * (steps * step_s * rows / batch + evals * eval_s_per_example)
    return total / 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny sizes)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode")
    parser.add_argument("--eval-size", type=int, default=24)
    parser.add_argument("--analysis-size", type=int, default=12)
    parser.add_argument("--layers", type=int, default=18)
    parser.add_argument("--model", help="a real model instead of the Gemma-shaped one "
                                         "(e.g. gemma-3-270m, once installed)")
    parser.add_argument("--base", default="f06f2c6", help="the 'before' commit")
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker_default(args.worker)))
        return
    if args.quick:
        args.steps, args.eval_size, args.analysis_size, args.layers = 1, 8, 4, 2
    import torch
    import transformers
    from machine import cpu_name

    torch.set_num_threads(1)
    load_before = os.getloadavg()
    workers = {}
    if not args.skip_default:  # before and now side by side: the same load for both
        steps = 3 if args.quick else 6
        workers = {"before": start_worker(before_tree(args.base), steps),
                   "now": start_worker(ROOT, steps)}
    gemma = measure_gemma(args)
    default = {name: result_of(w) for name, w in workers.items()}
    load_after = os.getloadavg()
    cached, plain = (median(gemma["steps"][m]) for m in ("cached", "plain"))
    ev = gemma["eval_s"]
    n_eval = gemma["eval_examples"] + gemma["analysis_examples"] * (gemma["masks"] - 1)
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, Python {platform.python_version()}; "
          f"one thread, CPU seconds. Load average (1, 5, 15 min) before: "
          f"{', '.join(f'{x:.1f}' for x in load_before)}; after: "
          f"{', '.join(f'{x:.1f}' for x in load_after)}.\n")
    print(f"Settings: `python benchmarks/bench_throughput.py {' '.join(sys.argv[1:])}`; "
          f"Gemma-shaped: {args.layers} layers, batch {gemma['batch']} (k = 8), inputs 60-80 "
          f"tokens, ssum (prompt 20), {gemma['eval_examples']} test examples, analysis on "
          f"{gemma['analysis_examples']} with {gemma['masks']} masks.\n")
    print("| measurement | with | without | ratio | goal |")
    print("|---|---|---|---|---|")
    print(f"| Gemma-shaped training step, median of {args.steps} (s) | {cached:.2f} | "
          f"{plain:.2f} | **{cached / plain:.2f}** | ≤ 0.4 |")
    print(f"| Gemma-shaped evaluation + per-prompt analysis (s) | {ev['cached']:.1f} | "
          f"{ev['plain']:.1f} | **{ev['cached'] / ev['plain']:.2f}** | ≤ 0.5 |")
    if default:
        now, before = default["now"], default["before"]
        print(f"| default run (MiniLM): evaluation + per-prompt analysis (s), now / before | "
              f"{now['eval_s']:.1f} | {before['eval_s']:.1f} | "
              f"**{now['eval_s'] / before['eval_s']:.2f}** | ≤ 0.5 |")
        print(f"| default run (MiniLM): training step, median (s), now / before | "
              f"{median(now['step_s']):.3f} | {median(before['step_s']):.3f} | "
              f"**{median(now['step_s']) / median(before['step_s']):.2f}** | ≤ 1 (not slower) |")
    print(f"\nFirst cached step (computes the {gemma['batch']} prefixes once per run): "
          f"{gemma['first_cached_step_s']:.2f} s.\n")
    per_example = {m: ev[m] / n_eval for m in ev}
    hours = {m: campaign_hours(s, gemma["batch"], per_example[m])
             for m, s in (("cached", cached), ("plain", plain))}
    print(f"Campaign (5 methods x 5 seeds x k = 8, 16 on one RTE-length task, priced from "
          f"the rows above): **{hours['cached']:.1f} h with the cache, {hours['plain']:.1f} h "
          f"without** (ratio {hours['cached'] / hours['plain']:.2f}) on this CPU, one thread.")


if __name__ == "__main__":
    main()
