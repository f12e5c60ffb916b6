"""This machine: its name, and whether a process on it is still alive.

The store, the local executor and the queue all ask this about the pids that run folders
record; it sits below them so that none of them imports another for it.
"""

from __future__ import annotations

import socket

import psutil

HOST = socket.gethostname()


def process_alive(pid: int | None, started_before: float | None = None) -> bool:
    """True if ``pid`` runs on this host and is not a zombie.

    ``started_before`` (epoch seconds) guards against a recycled pid: a process created
    after the run recorded its pid is some other program.
    """
    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started_before is None or proc.create_time() <= started_before + 2.0
    except (psutil.Error, ValueError):
        return False
