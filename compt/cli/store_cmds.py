"""Placeholder: commands are registered here by their issue's work."""
