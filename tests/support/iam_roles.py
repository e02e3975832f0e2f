"""Which template role makes an AWS call, read from the Python stack that makes it.

  * moto's Step Functions interpreter running a state       -> that state machine's role
  * a Lambda handler module (template.yaml `Handler`)        -> that function's role
  * product code a test calls directly (an adapter, a core
    service): the outermost product frame's module           -> every function that runs it
  * the job code (containers/sdaws_jobs)                     -> the SageMaker execution role
  * inside `aws_calls.acting_as(role)`                       -> that role (a test playing a service)
Anything else is test code setting up its world, which is not recorded.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tests.support.env import REPO_ROOT
from tests.support.template_tables import load_template

SAM_APP = REPO_ROOT / "sam_app"
JOBS = REPO_ROOT / "containers" / "sdaws_jobs"
STATE_MACHINE_ROLE = "TrainStateMachine"  # the one state machine; its states call AWS
EXECUTION_ROLE = "SageMakerExecutionRole"
API = ("ApiFunction",)
RECORD_EVENTS = ("SageMakerEventsFunction", "AsyncInferenceFunction", "TrainStepsFunction")
ENDPOINT_EVENTS = ("EndpointEventsFunction",)
MODEL_HASH = ("ModelHashFunction",)

# Product code tests call directly, and the functions whose code runs it: by module, or
# by "module:function" where the functions of one module run in different Lambdas.
MODULE_ROLES: dict[str, tuple[str, ...]] = {
    "adapters/aws/api_key_verifier.py": API,
    "adapters/aws/cloudwatch_logs.py": API,
    "adapters/aws/dynamo_jobs.py": API + RECORD_EVENTS,
    "adapters/aws/dynamo_jobs.py:put_new": API,
    "adapters/aws/dynamo_jobs.py:list": API,
    "adapters/aws/dynamo_jobs.py:dynamo_idempotency": API,
    "adapters/aws/dynamo_jobs.py:mark_waiting": API,
    "adapters/aws/dynamo_jobs.py:waiting_for": API + ENDPOINT_EVENTS,
    "adapters/aws/dynamo_jobs.py:claim_waiting": API + ENDPOINT_EVENTS,
    "adapters/aws/dynamo_jobs.py:update_launch": API + ENDPOINT_EVENTS,
    "adapters/aws/dynamo_tables.py": API,
    "adapters/aws/job_event_sink.py": RECORD_EVENTS,
    "adapters/aws/jobs_wiring.py": API,
    "adapters/aws/s3_job_inputs.py": API,
    "adapters/aws/s3_multipart.py": API,
    "adapters/aws/s3_outputs.py": API + RECORD_EVENTS,
    "adapters/aws/s3_store.py": API,
    "adapters/aws/sagemaker_endpoints.py": API,
    "adapters/aws/sagemaker_endpoints.py:apply_scaling": API + ENDPOINT_EVENTS,
    "adapters/aws/sagemaker_endpoints.py:on_in_service": ENDPOINT_EVENTS,
    "adapters/aws/sagemaker_endpoints.py:remove_old_versions": API + ENDPOINT_EVENTS,
    "adapters/aws/sagemaker_endpoints.py:state": API + ENDPOINT_EVENTS,
    "adapters/aws/sagemaker_launcher.py": API,
    "adapters/aws/sagemaker_launcher.py:start_waiting": API + ENDPOINT_EVENTS,
    "adapters/aws/sagemaker_launcher.py:fail_waiting": ENDPOINT_EVENTS,
    "adapters/aws/endpoint_events.py": ENDPOINT_EVENTS,
    "adapters/aws/wiring.py": API,
    "adapters/idempotency.py": API,
    # catalog (issue 13)
    "adapters/aws/dynamo_catalog_index.py": API,
    "adapters/aws/s3_sidecars.py": API,
    "adapters/aws/s3_hasher.py": MODEL_HASH,
    "adapters/aws/s3_hasher.py:record": MODEL_HASH + RECORD_EVENTS,
    "adapters/aws/s3_hasher.py:state": API,
    "adapters/aws/model_hashing.py": MODEL_HASH,
    "adapters/aws/model_hashing.py:record_hash_job": RECORD_EVENTS,
    "adapters/aws/s3_job_secrets.py": API,
    "adapters/aws/s3_job_secrets.py:discard": RECORD_EVENTS,
    "api/dispatch.py": API,
}


@functools.cache
def handler_roles() -> dict[str, str]:
    """sam_app/handlers/<module>.py -> the function logical id whose Handler it is."""
    out = {}
    for logical_id, resource in load_template()["Resources"].items():
        handler = (resource.get("Properties") or {}).get("Handler")
        if resource["Type"] == "AWS::Serverless::Function" and handler:
            module = handler.rsplit(".", 1)[0]
            out[str(REPO_ROOT / (module.replace(".", "/") + ".py"))] = logical_id
    return out


def _under(path: str, folder: Path) -> str | None:
    prefix = str(folder) + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


def in_transfer_thread(frame) -> bool:
    """Whether the call comes from s3transfer (upload_file/download_file run in its threads)."""
    while frame is not None:
        if "/s3transfer/" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def caller_roles(frame, acting_as: str | None) -> tuple[str, ...]:
    if acting_as:
        return (acting_as,)
    handlers = handler_roles()
    outermost_product: str | None = None
    outermost_function = ""
    in_jobs = False
    while frame is not None:
        path = frame.f_code.co_filename
        if "/moto/stepfunctions/" in path:
            return (STATE_MACHINE_ROLE,)
        if path in handlers:
            return (handlers[path],)
        relative = _under(path, SAM_APP)
        if relative is not None:
            outermost_product, outermost_function = relative, frame.f_code.co_name
        elif _under(path, JOBS) is not None:
            in_jobs = True
        frame = frame.f_back
    if outermost_product is not None:
        if outermost_product.startswith("core/"):
            return API  # the services of sam_app/core run in the API function
        for key in (f"{outermost_product}:{outermost_function}", outermost_product):
            if key in MODULE_ROLES:
                return MODULE_ROLES[key]
        return (f"?unattributed:sam_app/{outermost_product}",)
    if in_jobs:
        return (EXECUTION_ROLE,)
    return ()
