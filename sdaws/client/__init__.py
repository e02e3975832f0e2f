"""The UI-free sdaws client: the API client, uploads, config and connection, job-log
following and output download. The TUI and the CLI both stand on it; it never imports
Textual (an import-linter contract)."""
