"""The IAM policies template.yaml gives each role, resolved and evaluated like IAM does.

A role is a function (AWS::Serverless::Function, its `Policies`), a state machine
(AWS::Serverless::StateMachine, its `Policies`) or an AWS::IAM::Role (its inline
`Policies`). Intrinsics resolve against what the tests deployed (tests.support.deployed)
with the template's parameter defaults; a reference nothing registered resolves to no
resource at all, so it can never grant by accident. Evaluation: an explicit Deny wins,
else some Allow whose Action, Resource and Condition all match.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import deployed
from tests.support.env import REPO_ROOT
from tests.support.template_tables import load_template

TEMPLATE = REPO_ROOT / "template.yaml"
PSEUDO = {
    "AWS::Region": deployed.REGION,
    "AWS::AccountId": deployed.ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


@dataclass(frozen=True)
class Need:
    """One permission a call needs: action on resource, with the request's condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        extra = "".join(f" [{k}={v}]" for k, v in self.context)
        return f"{self.action} on {self.resource}{extra}"


@dataclass(frozen=True)
class Statement:
    role: str
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.role}:{self.sid}"


# ------------------------------------------------------------------ intrinsics
class Resolver:
    def __init__(self, template: dict, parameters: dict[str, str] | None = None, pseudo: dict[str, str] | None = None):
        self.template = template
        self.parameters = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.parameters |= parameters or {}
        self.pseudo = PSEUDO | (pseudo or {})

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        """Scalar conditions (Equals) evaluate to bool."""
        if isinstance(node, dict) and "Equals" in node:
            left, right = (self.strings(n) for n in node["Equals"])
            return bool(set(left) & set(right))
        if isinstance(node, dict) and "Condition" in node:
            return self.condition(node["Condition"])
        raise ValueError(f"unsupported condition {node!r}")

    def ref(self, name: str) -> list[str]:
        if name in self.pseudo:
            return [self.pseudo[name]]
        if name == "AWS::StackName":
            return sorted(deployed.stack_names())
        if name in self.parameters:
            return [self.parameters[name]]
        return sorted(deployed.values(name, "Ref"))

    def attribute(self, dotted: str) -> list[str]:
        logical_id, _, attribute = dotted.partition(".")
        return sorted(deployed.values(logical_id, attribute))

    def _sub(self, text: str, variables: dict[str, Any]) -> list[str]:
        pieces: list[list[str]] = []
        position = 0
        for match in re.finditer(r"\$\{([^}!]+)\}", text):
            pieces.append([text[position : match.start()]])
            name = match.group(1)
            if name in variables:
                pieces.append(self.strings(variables[name]))
            elif "." in name and not name.startswith("AWS::"):
                pieces.append(self.attribute(name))
            else:
                pieces.append(self.ref(name))
            position = match.end()
        pieces.append([text[position:]])
        return ["".join(parts) for parts in itertools.product(*pieces)]

    def strings(self, node: Any) -> list[str]:
        """Every string `node` may stand for (alternatives and list members alike)."""
        if isinstance(node, str):
            return [node]
        if isinstance(node, (int, float)):
            return [str(node)]
        if isinstance(node, list):
            return [s for item in node for s in self.strings(item)]
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"unsupported template value {node!r}")
        ((tag, arg),) = node.items()
        if tag == "Ref":
            return self.ref(arg)
        if tag == "GetAtt":
            return self.attribute(arg if isinstance(arg, str) else ".".join(arg))
        if tag == "Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            return self._sub(text, variables)
        if tag == "If":
            name, when_true, when_false = arg
            return self.strings(when_true if self.condition(name) else when_false)
        if tag == "Split":
            delimiter, source = arg
            return [part for text in self.strings(source) for part in text.split(delimiter)]
        if tag == "Select":
            index, source = arg
            if isinstance(source, dict) and "Split" in source:
                delimiter, text_node = source["Split"]
                return [text.split(delimiter)[int(index)] for text in self.strings(text_node)]
            return self.strings(source[int(index)])
        if tag == "Join":
            delimiter, items = arg
            return [delimiter.join(p) for p in itertools.product(*(self.strings(i) for i in items))]
        raise ValueError(f"unsupported intrinsic {tag}")


# ------------------------------------------------------------------ policies
def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _role_documents(resource: dict) -> list[dict]:
    """The policy documents of a role; a managed policy counts as its own "role" (see _owner)."""
    props = resource.get("Properties") or {}
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        return [props["PolicyDocument"]]
    if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        return [p for p in props.get("Policies") or [] if isinstance(p, dict) and "Statement" in p]
    if resource["Type"] == "AWS::IAM::Role":
        return [p["PolicyDocument"] for p in props.get("Policies") or []]
    return []


def _owner(logical_id: str, resource: dict) -> str:
    """The role a document belongs to: a managed policy's (first) attached role, else itself."""
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        roles = resource["Properties"].get("Roles") or []
        if roles and isinstance(roles[0], dict) and "Ref" in roles[0]:
            return roles[0]["Ref"]
    return logical_id


def _statements(template: dict, resolver: Resolver) -> list[Statement]:
    out = []
    for resource_id, resource in template["Resources"].items():
        logical_id = _owner(resource_id, resource)
        for document in _role_documents(resource):
            for raw in document["Statement"]:
                if "NotAction" in raw or "NotResource" in raw:
                    raise ValueError(f"{logical_id}: NotAction/NotResource are not modelled")
                conditions = tuple(
                    (operator, key, tuple(resolver.strings(values)))
                    for operator, keys in (raw.get("Condition") or {}).items()
                    for key, values in keys.items()
                )
                out.append(
                    Statement(
                        role=logical_id,
                        sid=raw.get("Sid", ""),
                        effect=raw["Effect"],
                        actions=tuple(_listed(raw["Action"])),
                        resources=tuple(resolver.strings(raw["Resource"])),
                        conditions=conditions,
                    )
                )
    return out


def statements(path: Path = TEMPLATE) -> list[Statement]:
    """Resolved now: registrations made since the last call are included."""
    template = _template(path)
    return _statements(template, Resolver(template))


@functools.cache
def _template(path: Path) -> dict:
    return load_template(path)


def roles(path: Path = TEMPLATE) -> set[str]:
    return {logical_id for logical_id, r in _template(path)["Resources"].items() if _role_documents(r)}


# ------------------------------------------------------------------ evaluation
@functools.cache
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)


def _matches(glob: str, value: str, case_sensitive: bool = True) -> bool:
    return bool(_pattern(glob, case_sensitive).match(value))


def _condition_holds(operator: str, key: str, wanted: tuple[str, ...], context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if key not in context:
        return if_exists
    value = context[key]
    if base in ("StringEquals", "ArnEquals"):
        return value in wanted
    if base in ("StringLike", "ArnLike"):
        return any(_matches(w, value) for w in wanted)
    if base == "Bool":
        return value.lower() in (w.lower() for w in wanted)
    raise ValueError(f"condition operator {operator} is not modelled")


def _applies(statement: Statement, need: Need) -> bool:
    context = dict(need.context)
    return (
        any(_matches(a, need.action, case_sensitive=False) for a in statement.actions)
        and any(_matches(r, need.resource) for r in statement.resources)
        and all(_condition_holds(op, key, wanted, context) for op, key, wanted in statement.conditions)
    )


def allowed(role_statements: list[Statement], need: Need) -> bool:
    if any(s.effect == "Deny" and _applies(s, need) for s in role_statements):
        return False
    return any(s.effect == "Allow" and _applies(s, need) for s in role_statements)


def gaps(calls, all_statements: list[Statement], drop: str | None = None) -> list[str]:
    """Each (role, need) of `calls` no statement allows; `drop` leaves out one statement key."""
    by_role: dict[str, list[Statement]] = {}
    for statement in all_statements:
        if statement.key != drop:
            by_role.setdefault(statement.role, []).append(statement)
    found = []
    for call in calls:
        for role in call.roles:
            for need in call.needs:
                if not allowed(by_role.get(role, []), need):
                    found.append(f"{role} may not {need} (needed by {call.describe()})")
    return sorted(set(found))
