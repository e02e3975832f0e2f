"""sdaws middleware: core domain, API, adapters and Lambda handlers."""

__version__ = "0.1.0"
