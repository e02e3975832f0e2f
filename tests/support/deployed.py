"""What the tests deployed, by template.yaml logical id: the names the IAM check resolves
the template's references to (`!Ref JobsTable`, `!GetAtt SageMakerExecutionRole.Arn`, …).

Fixtures that create a template resource in moto register it here (create_tables,
create_api_world, the compute stack, the state machine …). A policy statement whose
reference has no registered name cannot match anything, so a test that uses an
unregistered resource shows as an IAM gap rather than passing on a wildcard.
"""

from __future__ import annotations

from collections import defaultdict

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"

# logical id -> attribute ("Ref", "Arn", "Name") -> values seen in this session
_NAMES: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
# The stack names the tests deploy under (endpoint and alarm names start with them).
_STACK_NAMES: set[str] = {"sdaws"}


def _put(logical_id: str, **attributes: str) -> None:
    for name, value in attributes.items():
        _NAMES[logical_id][name].add(value)


def register_table(logical_id: str, name: str) -> None:
    _put(logical_id, Ref=name, Arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")


def register_bucket(logical_id: str, name: str) -> None:
    _put(logical_id, Ref=name, Arn=f"arn:aws:s3:::{name}")


def register_topic(logical_id: str, arn: str) -> None:
    _put(logical_id, Ref=arn, TopicName=arn.rsplit(":", 1)[-1])


def register_role(logical_id: str, arn: str) -> None:
    _put(logical_id, Ref=arn.rsplit("/", 1)[-1], Arn=arn)


def register_state_machine(logical_id: str, arn: str) -> None:
    _put(logical_id, Ref=arn, Arn=arn, Name=arn.rsplit(":", 1)[-1])


def register_queue(logical_id: str, url: str, arn: str) -> None:
    _put(logical_id, Ref=url, Arn=arn)


def register_api_key(logical_id: str, key_id: str) -> None:
    _put(logical_id, Ref=key_id)


def register_stack_name(name: str) -> None:
    _STACK_NAMES.add(name)


def values(logical_id: str, attribute: str = "Ref") -> set[str]:
    return set(_NAMES.get(logical_id, {}).get(attribute, set()))


def stack_names() -> set[str]:
    return set(_STACK_NAMES)


def export() -> dict:
    """Everything registered, for a parent session that evaluates this session's calls."""
    return {
        "names": {lid: {attr: sorted(values) for attr, values in attrs.items()} for lid, attrs in _NAMES.items()},
        "stacks": sorted(_STACK_NAMES),
    }


def merge(exported: dict) -> None:
    for logical_id, attributes in exported["names"].items():
        for attribute, values in attributes.items():
            _NAMES[logical_id][attribute].update(values)
    _STACK_NAMES.update(exported["stacks"])
