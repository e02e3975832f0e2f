"""What template.yaml must declare, read from the template itself.

Every documented route is an API event that requires the API key; storage is
private, encrypted and recoverable; the parameters users were told about exist.
"""

from __future__ import annotations

import json

import pytest

from tests.support.env import REPO_ROOT
from tests.support.template_tables import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
OPENAPI = json.loads((REPO_ROOT / "sam_app" / "openapi.json").read_text())


def api_events() -> dict[tuple[str, str], dict]:
    events = {}
    for resource in RESOURCES.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                events[(props["Method"].upper(), props["Path"])] = props
    return events


DOCUMENTED = sorted(
    (method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item if method != "parameters"
)


@pytest.mark.parametrize("route", DOCUMENTED, ids=lambda r: f"{r[0]} {r[1]}")
def test_every_documented_route_is_deployed_and_needs_the_key(route):
    events = api_events()
    assert route in events, f"{route} is in sam_app/openapi.json but has no Api event in template.yaml"
    assert events[route].get("Auth", {}).get("ApiKeyRequired") is True


def test_no_deployed_route_is_undocumented():
    assert sorted(api_events()) == DOCUMENTED


def test_api_requires_key_by_default_with_usage_plan():
    api = RESOURCES["Api"]["Properties"]
    assert api["Auth"]["ApiKeyRequired"] is True
    plan_key = RESOURCES["ApiUsagePlanKey"]["Properties"]
    assert plan_key["KeyId"] == {"Ref": "ApiKey"} and RESOURCES["ApiKey"]["Properties"]["Value"] == {"Ref": "ApiToken"}


def test_parameters_users_were_told_about():
    params = TEMPLATE["Parameters"]
    assert params["ApiToken"]["NoEcho"] is True
    assert "Email" in params and "ExistingBucketName" in params
    assert params["UtilInstanceType"]["AllowedValues"] == [
        "ml.r5.large",
        "ml.r5.xlarge",
        "ml.c6i.2xlarge",
        "ml.c6i.4xlarge",
    ]


def test_model_bucket_is_private_encrypted_versioned_tls_only_with_cors_etag():
    bucket = RESOURCES["ModelBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert any(
        "ETag" in rule["ExposedHeaders"] and "PUT" in rule["AllowedMethods"]
        for rule in bucket["CorsConfiguration"]["CorsRules"]
    )
    policy = RESOURCES["ModelBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in policy)


@pytest.mark.parametrize("logical_id", ["ModelsTable", "JobsTable", "UploadsTable", "IdempotencyTable"])
def test_tables_on_demand_with_point_in_time_recovery(logical_id):
    props = RESOURCES[logical_id]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_email_subscription_and_outputs():
    topic = RESOURCES["NotificationTopic"]["Properties"]
    assert topic["Subscription"][0] == {"Protocol": "email", "Endpoint": {"Ref": "Email"}}
    assert {"ApiUrl", "ModelBucketName", "NotificationTopicArn", "TokenHowTo"} <= set(TEMPLATE["Outputs"])


def test_every_checkov_skip_gives_a_reason():
    for path in (REPO_ROOT / "template.yaml", REPO_ROOT / "sam_app" / "deployer_role.yaml"):
        for logical_id, resource in load_template(path)["Resources"].items():
            for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", []):
                assert len(str(skip.get("comment", "")).strip()) > 20, (
                    f"{path.name} {logical_id} skips {skip['id']} without a reason"
                )


def test_no_wildcard_actions_in_function_policies():
    for logical_id, resource in RESOURCES.items():
        for policy in (resource.get("Properties") or {}).get("Policies") or []:
            if not isinstance(policy, dict) or "Statement" not in policy:
                continue
            for statement in policy["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not [a for a in actions if a == "*" or a.endswith(":*")], f"{logical_id}: {actions}"
