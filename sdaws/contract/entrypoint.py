"""How every job is started, in a SageMaker container and as a local subprocess alike:
`python -m sdaws_jobs <kind> [--workdir DIR]` (the job code's layout.py describes DIR)."""

from __future__ import annotations

JOB_MODULE = "sdaws_jobs"


def job_argv(python: str, kind: str, *args: str) -> list[str]:
    """The command line that runs job `kind` with this `python`."""
    return [python, "-m", JOB_MODULE, kind, *args]
