"""AWS adapters (boto3).

`sam local` passes a function only the environment variables its template declares,
so the emulator endpoint cannot arrive as AWS_ENDPOINT_URL (which boto3 honours). The
template declares SDAWS_ENDPOINT_URL, empty in AWS; when set (sam local + moto), it
becomes AWS_ENDPOINT_URL before any client is made.
"""

import os

if os.environ.get("SDAWS_ENDPOINT_URL"):
    os.environ.setdefault("AWS_ENDPOINT_URL", os.environ["SDAWS_ENDPOINT_URL"])
