"""compt: modular multi-task prompt tuning (ComPT) and the tools to run and compare it."""

__version__ = "0.1.0"
