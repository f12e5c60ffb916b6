"""``compt`` in a child process, bounded by the CPU time it may spend, not by the wall clock.

On a shared node at load 45 a command that needs 5 s of CPU takes minutes of wall time, so
a wall-clock timeout fails tests whose command did the right thing. A CPU limit still
stops a runaway child (SIGXCPU); the wall guard only catches a child stuck waiting.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence

CPU_LIMIT_S = 120  # ten times what the heaviest user-mistake command needs (torch import)
HANG_GUARD_S = 1800  # a child that waits (a lock, a pipe) rather than computes


def run_bounded(argv: Sequence[str], env: Mapping[str, str] | None = None,
                cpu_s: int = CPU_LIMIT_S) -> subprocess.CompletedProcess:
    """Run ``argv`` to completion; the kernel ends it after ``cpu_s`` seconds of CPU."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))

    return subprocess.run(list(argv), capture_output=True, text=True, preexec_fn=limit,
                          env=dict(env if env is not None else os.environ),
                          timeout=HANG_GUARD_S)


def run_compt(*args: str, env: Mapping[str, str] | None = None,
              cpu_s: int = CPU_LIMIT_S) -> subprocess.CompletedProcess:
    """``python -m compt ARGS`` under this interpreter (so this checkout's code runs)."""
    return run_bounded([sys.executable, "-m", "compt", *args], env, cpu_s)
