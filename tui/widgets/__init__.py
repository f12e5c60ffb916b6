"""Widgets the screens share: the runs table, the log tail, the loss chart."""
