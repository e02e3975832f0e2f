"""sdaws: the shared contract (`sdaws.contract`), the UI-free API client (`sdaws.client`)
and the scripting CLI (`sdaws.cli`). The Textual app is `tui`, the API `sam_app`, the job
code `sdaws_jobs` (in containers/)."""
