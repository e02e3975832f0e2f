"""moto's server with SageMaker training jobs that take time, as real ones do.

Runs inside the moto container of the SageMaker emulation (tests/support/sagemaker_world.py
mounts this file and starts it instead of `moto.server`). moto marks a training job
Completed the moment it is created; here it stays InProgress until whoever plays
SageMaker tags it with `emulator:status` (Completed / Failed, with `emulator:failure`),
as SageMaker reports the end once the container has exited and its model is uploaded.
Not imported by the tests themselves.
"""

from __future__ import annotations

import sys

from moto.sagemaker import models

_init = models.FakeTrainingJob.__init__
_response = models.FakeTrainingJob.response_object


def _starting(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.training_job_status = "InProgress"
    self.secondary_status = "Training"


def _reported(self):
    tags = {t["Key"]: t["Value"] for t in self.tags}
    if "emulator:status" in tags:
        self.training_job_status = self.secondary_status = tags["emulator:status"]
    answer = _response.fget(self)
    if "emulator:failure" in tags:
        answer["FailureReason"] = tags["emulator:failure"]
    return answer


models.FakeTrainingJob.__init__ = _starting
models.FakeTrainingJob.response_object = property(_reported)

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
