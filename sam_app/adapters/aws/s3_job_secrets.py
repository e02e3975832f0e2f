"""JobSecrets in the model bucket: the credential waits at jobs/<id>/config/<name>, the
prefix the processing job receives as its config channel (input/config/ in the
container), encrypted at rest like the whole bucket and never in the record, the
CreateProcessingJob request (no Environment entry: DescribeProcessingJob would show it)
or a log. The job-events handler deletes it when the job ends (S3JobSecrets.discard)."""

from __future__ import annotations

from sdaws.contract.import_spec import TOKEN_FILE_NAME

from .sagemaker_launcher import job_folder

SECRET_FILES = (TOKEN_FILE_NAME,)


class S3JobSecrets:
    def __init__(self, client, bucket: str) -> None:
        self.s3 = client
        self.bucket = bucket

    def put(self, job_id: str, name: str, value: str) -> None:
        if name not in SECRET_FILES:
            raise ValueError(f"{name!r} is not a job secret")
        self.s3.put_object(
            Bucket=self.bucket, Key=f"{job_folder(job_id)}/config/{name}", Body=value.encode(), ContentType="text/plain"
        )

    def discard(self, job_id: str) -> None:
        for name in SECRET_FILES:
            self.s3.delete_object(Bucket=self.bucket, Key=f"{job_folder(job_id)}/config/{name}")
