"""`sdaws endpoints ls|create|rm|scale`: the inference endpoints txt2img and img2img run on.

On AWS these are SageMaker async endpoints (the first txt2img creates "default"; min 0
instances means an idle endpoint costs nothing); locally there is one, `local`.
"""

from __future__ import annotations

import argparse
import sys

from sdaws.cli.common import UsageError, answer, api_action, api_errors, fetch, open_connection, print_json
from sdaws.client.safe_text import printable


def register(subparsers) -> None:
    parser = subparsers.add_parser("endpoints", help="list, create, scale and delete inference endpoints")
    sub = parser.add_subparsers(dest="endpoints_command", metavar="ACTION", required=True)

    api_action(sub, cmd_ls, "ls", help="endpoints, their status and scaling")

    create = api_action(
        sub, cmd_create, "create", help="create an endpoint or change its instance type (takes minutes)"
    )
    create.add_argument("name", nargs="?", default="default", help="txt2img/img2img use 'default'")
    create.add_argument("--instance-type", help="GPU instance type, e.g. ml.g4dn.xlarge (default: the API's)")
    _scaling_args(create)

    scale = api_action(sub, cmd_scale, "scale", help="change an endpoint's scaling, keeping its instance type")
    scale.add_argument("name")
    _scaling_args(scale)

    rm = api_action(sub, cmd_rm, "rm", help="delete an endpoint, its scaling and its old versions")
    rm.add_argument("name")


def _scaling_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min", dest="min_instances", type=int, help="fewest instances (0: idle costs nothing)")
    parser.add_argument("--max", dest="max_instances", type=int, help="most instances")
    parser.add_argument("--target-backlog", type=float, help="queued requests per instance to aim for")


def endpoint_line(endpoint: dict) -> str:
    current = endpoint.get("current_instances")
    scaling = f"{endpoint.get('min_instances')}-{endpoint.get('max_instances')}"
    note = "" if endpoint.get("scaling_applied") in (None, True) else "  (scaling applies once InService)"
    return printable(
        f"{endpoint['name']:<20} {endpoint.get('status', ''):<11} {endpoint.get('instance_type', ''):<16} "
        f"{scaling:>6}  now {current if current is not None else '-'}{note}"
    )


def _report(endpoint: dict, as_json: bool) -> int:
    if as_json:
        print_json(endpoint)
    else:
        print(endpoint_line(endpoint))
        if endpoint.get("status") == "Creating":
            print("creating: SageMaker needs about 10 minutes before it serves", file=sys.stderr)
    return 0


@api_errors
def cmd_ls(args: argparse.Namespace) -> int:
    listed = fetch(args, lambda client: client.list_endpoints())
    answer(args, listed, map(endpoint_line, listed.get("endpoints", [])))
    if not args.json and not listed.get("endpoints"):
        print("no endpoints yet: the first txt2img creates 'default' (or: sdaws endpoints create)", file=sys.stderr)
    return 0


@api_errors
def cmd_create(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        endpoint = conn.client.put_endpoint(
            args.name, args.instance_type, args.min_instances, args.max_instances, args.target_backlog
        )
    return _report(endpoint, args.json)


@api_errors
def cmd_scale(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        current = {e["name"]: e for e in conn.client.list_endpoints().get("endpoints", [])}.get(args.name)
        if current is None:
            raise UsageError(f"no endpoint {args.name!r}; sdaws endpoints ls lists them")
        endpoint = conn.client.put_endpoint(
            args.name,
            current["instance_type"],
            current["min_instances"] if args.min_instances is None else args.min_instances,
            current["max_instances"] if args.max_instances is None else args.max_instances,
            args.target_backlog,
        )
    return _report(endpoint, args.json)


@api_errors
def cmd_rm(args: argparse.Namespace) -> int:
    result = fetch(args, lambda client: client.delete_endpoint(args.name))
    return answer(args, result, [f"deleted endpoint {args.name}"])
