"""Generate the API's OpenAPI document from the code: `python -m sam_app.api.openapi [OUT]`.

The committed copy is sam_app/openapi.json; a test fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from sam_app import __version__

from .app import create_app

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.json"


def document() -> dict:
    app = create_app(None)
    schema = app.get_openapi_json_schema(
        title="sdaws",
        version=__version__,
        description="Stable Diffusion model operations: model tree, uploads and jobs. Request bodies are validated "
        'strictly: a number must be a JSON number ("size": 5, not "5"), an integer an integer, a boolean true or '
        "false; nothing is coerced, and a mismatch is a 422 naming the field. Query and path parameters are text "
        "and are read as their documented types. JSON bodies may nest at most 32 levels.",
        security_schemes={"apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)},
        security=[{"apiKey": []}],
    )
    return json.loads(schema)


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else COMMITTED
    out.write_text(render())
    print(f"wrote {out}")
