"""Fixtures shared across the test folders live in tests/support as pytest plugins."""

pytest_plugins = [
    "tests.support.aws_calls",
    "tests.support.api_world",
    "tests.support.aws_stack",
    "tests.support.compute_api",
    "tests.support.convert_fixtures",
    "tests.support.e2e_aws",
    "tests.support.job_fixtures",
    "tests.support.jobs_api",
    "tests.support.moto_endpoints",
    "tests.support.parity_job_server",
    "tests.support.sam_local",
    "tests.support.sagemaker_world",
    "tests.support.tui_env",
    "tests.support.upload_worlds",
]
