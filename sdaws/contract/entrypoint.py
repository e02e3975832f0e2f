"""How every job is started, in a SageMaker container and as a local subprocess alike:
`python -m sdaws_jobs <kind> [--workdir DIR]` (the job code's layout.py describes DIR)."""

from __future__ import annotations

JOB_MODULE = "sdaws_jobs"


def job_argv(python: str, kind: str, *args: str) -> list[str]:
    """The command line that runs job `kind` with this `python`."""
    return [python, "-m", JOB_MODULE, kind, *args]


# The environment a job reads its converted-model cache from (the local runner sets both;
# the serving container keeps the default root): where single-file checkpoints converted
# for a job are kept, and the tree's own converted folders (<models>/diffusers).
MODEL_CACHE_ENV = "SDAWS_MODEL_CACHE"
TREE_CONVERTED_ENV = "SDAWS_TREE_CONVERTED"
