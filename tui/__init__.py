"""sdaws terminal UI and CLI."""
