"""compt-tui: the Textual dashboard over compt's run store (the core never imports this)."""
