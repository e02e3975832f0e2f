"""The deployer role (sam_app/deployer_role.yaml) can create, update and delete every
resource of today's template: the resource types and the names CloudFormation gives
them are derived from template.yaml after the SAM transform (tests/support/deploy_plan.py),
so a resource added to the template without its permissions fails here."""

from __future__ import annotations

import pytest

from tests.support import iam_policy
from tests.support.deploy_plan import STACK, cloudformation_needs, plan
from tests.support.env import REPO_ROOT

DEPLOYER = REPO_ROOT / "sam_app" / "deployer_role.yaml"


@pytest.fixture(scope="module")
def planned():
    return plan()


def deployer_statements():
    return [s for s in iam_policy.statements(DEPLOYER) if s.role == "DeployerRole"]


def test_every_resource_can_be_created_updated_and_deleted(planned):
    resources, extra = planned
    statements = deployer_statements()
    needs = [n for item in resources for n in item.needs()] + extra + cloudformation_needs()
    missing = sorted({f"{n}" for n in needs if not iam_policy.allowed(statements, n)})
    assert missing == [], "the deployer role cannot:\n  " + "\n  ".join(missing)


def test_generated_names_carry_the_stack_name_the_deployer_scopes_by(planned):
    resources, _ = planned
    unscoped = [
        f"{r.logical_id} ({r.type}): {r.name}"
        for r in resources
        if not r.type.startswith("AWS::ApiGateway::")
        and not r.name.lstrip("/").startswith(STACK)
        and not r.name.startswith(f"/aws/vendedlogs/states/{STACK}")
    ]
    assert unscoped == []


def test_the_deployer_may_never_change_its_own_permissions():
    deny = [s for s in deployer_statements() if s.effect == "Deny"]
    assert any("iam:Put*" in s.actions and "iam:Attach*" in s.actions for s in deny)
