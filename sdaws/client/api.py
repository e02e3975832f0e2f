"""The sdaws API client shared by the TUI and the CLI.

Every failure surfaces as an :class:`~sdaws.client.errors.ApiError` subclass whose
``str()`` is a sentence a user can act on (``sdaws.client.errors`` maps httpx's
exceptions in one place). The client is safe to use from several worker threads at
once: each thread gets its own ``httpx.Client`` (one connection pool per thread, no
shared mutable state).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from sdaws.client.errors import (
    ApiError,
    AuthError,
    Conflict,
    ConnectFailed,
    NotFound,
    ValidationFailed,
    WrongUrl,
    status_error,
    transport_error,
)
from sdaws.client.thread_clients import ThreadClients

__all__ = [
    "ApiClient",
    "ApiError",
    "AuthError",
    "Conflict",
    "ConnectFailed",
    "NotFound",
    "ValidationFailed",
    "WrongUrl",
]

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


def _quote(segment: str) -> str:
    return quote(segment, safe="")


# API Gateway answers these itself, before the function runs: {"message": "..."} with an
# x-amzn-ErrorType header, never the API's own {"error", "message"} body.
GATEWAY_FORBIDDEN = "Forbidden"
GATEWAY_NO_ROUTE = "Missing Authentication Token"


def _describe_auth(status: int, message: str) -> str:
    if status == 401:
        return f"The API needs a token (401): set the API token in Settings or pass --token. {message}".strip()
    if message == GATEWAY_FORBIDDEN:
        return (
            "API Gateway refused the API token (403 Forbidden): check the token in Settings or --token; "
            "for a deployed stack it is the ApiToken you deployed with (the stack's TokenHowTo output prints it)."
        )
    return f"The API token was refused (403): check the token in Settings or --token. {message}".strip()


def _describe_no_route(url: str) -> str:
    return (
        f"API Gateway has no route {url} (403 Missing Authentication Token): check the API URL; it must "
        "include the stage, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1 (the stack's ApiUrl output)."
    )


class ApiClient:
    """Typed access to the sdaws API (local server or AWS, same routes)."""

    def __init__(self, base_url: str, token: str, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT) -> None:
        base_url = base_url.strip()
        if not base_url.startswith(("http://", "https://")):
            raise ConnectFailed(
                f"'{base_url}' is not an API URL: it must start with http:// or https://", code="bad_url"
            )
        # httpx joins relative paths onto the base path, so an API Gateway stage
        # (https://…/prod) keeps its prefix; the trailing slash makes that explicit.
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self._clients = ThreadClients(
            lambda: httpx.Client(
                base_url=self.base_url,
                headers={"x-api-key": self.token, "accept": "application/json"},
                timeout=self.timeout,
            )
        )

    # -- plumbing ---------------------------------------------------------

    def _http(self) -> httpx.Client:
        return self._clients.get()

    def close(self) -> None:
        self._clients.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; return the decoded JSON body or raise an ApiError."""
        url = self.base_url + path.lstrip("/")
        try:
            response = self._http().request(method, path.lstrip("/"), **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "reach the API at", self.base_url) from exc
        return self._decode(response, url)

    def _decode(self, response: httpx.Response, url: str) -> Any:
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if response.is_success:
            if body is None:
                raise ApiError(
                    f"{url} answered {response.status_code} but not with JSON: is this the sdaws API URL?",
                    status=response.status_code,
                    code="not_json",
                )
            return body
        code = "error"
        message = response.reason_phrase or "request failed"
        if isinstance(body, dict):
            code = str(body.get("error") or code)
            message = str(body.get("message") or body.get("detail") or message)
        status = response.status_code
        if status == 403 and isinstance(body, dict) and "error" not in body and message == GATEWAY_NO_ROUTE:
            raise WrongUrl(_describe_no_route(url), status=status, code="no_route")
        if status in (401, 403):
            raise AuthError(_describe_auth(status, message if body else ""), status=status, code=code)
        if status == 404:
            raise NotFound(message, status=status, code=code)
        if status == 409:
            raise Conflict(message, status=status, code=code)
        if status == 422:
            raise ValidationFailed(message, status=status, code=code)
        if body is None:
            message = f"{url} answered {status} {response.reason_phrase} (not JSON): is this the sdaws API URL?"
        raise ApiError(message, status=status, code=code)

    # -- service ----------------------------------------------------------

    def ping(self) -> dict:
        return self.request("GET", "ping")

    def model_types(self) -> dict:
        return self.request("GET", "model-types")

    # -- models -----------------------------------------------------------

    def list_models(
        self, type: str | None = None, prefix: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> dict:
        params = {k: v for k, v in {"type": type, "prefix": prefix, "limit": limit, "cursor": cursor}.items() if v}
        return self.request("GET", "models", params=params)

    def iter_models(self, type: str | None = None, prefix: str | None = None, page_size: int = 1000) -> Iterator[dict]:
        cursor = None
        while True:
            page = self.list_models(type=type, prefix=prefix, limit=page_size, cursor=cursor)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def model_info(self, model_type: str, name: str) -> dict:
        return self.request("GET", f"models/{_quote(model_type)}/{_quote(name)}")

    def delete_model(self, model_type: str, name: str) -> dict:
        return self.request("DELETE", f"models/{_quote(model_type)}/{_quote(name)}")

    # -- uploads ----------------------------------------------------------

    def create_upload(self, model_type: str, filename: str, size: int, *, overwrite: bool = False) -> dict:
        body: dict[str, Any] = {"type": model_type, "filename": filename, "size": size}
        if overwrite:
            body["overwrite"] = True
        return self.request("POST", "uploads", json=body)

    def get_upload(self, upload_id: str) -> dict:
        return self.request("GET", f"uploads/{_quote(upload_id)}")

    def complete_upload(self, upload_id: str, sha256: str | None = None) -> dict:
        body = {"sha256": sha256} if sha256 else {}
        return self.request("POST", f"uploads/{_quote(upload_id)}/complete", json=body)

    # -- jobs ---------------------------------------------------------------

    def submit_job(self, kind: str, params: dict, idempotency_key: str | None = None, name: str | None = None) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body: dict[str, Any] = {"kind": kind, "params": params}
        if name:
            body["name"] = name
        return self.request("POST", "jobs", json=body, headers=headers)

    def upload_job_input(self, path: Path, group: str | None = None) -> dict:
        """Send a local file (init image, dataset image) as a job input; return ``{key, group}``."""
        path = Path(path)
        body: dict[str, Any] = {"filename": path.name, "size": path.stat().st_size}
        if group:
            body["group"] = group
        slot = self.request("POST", "job-inputs", json=body)
        doing = f"send {path.name} to"
        try:
            # The URL is presigned (S3, or the local server's HMAC): never send our token to it.
            response = httpx.request(
                slot.get("method", "PUT"), slot["url"], content=path.read_bytes(), timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, doing, slot["url"]) from exc
        if not response.is_success:
            raise status_error(response, doing)
        return {"key": slot["key"], "group": slot.get("group")}

    def list_jobs(
        self, status: str | None = None, kind: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> dict:
        params = {k: v for k, v in {"status": status, "kind": kind, "limit": limit, "cursor": cursor}.items() if v}
        return self.request("GET", "jobs", params=params)

    def get_job(self, job_id: str) -> dict:
        return self.request("GET", f"jobs/{_quote(job_id)}")

    def job_logs(self, job_id: str, cursor: str | None = None, limit: int | None = None) -> dict:
        params: dict[str, Any] = {"cursor": cursor} if cursor else {}
        if limit:
            params["limit"] = limit
        return self.request("GET", f"jobs/{_quote(job_id)}/logs", params=params)

    def job_outputs(self, job_id: str) -> dict:
        return self.request("GET", f"jobs/{_quote(job_id)}/outputs")

    def cancel_job(self, job_id: str) -> dict:
        return self.request("POST", f"jobs/{_quote(job_id)}/cancel")

    # -- endpoints (AWS: SageMaker async endpoints; local: the one `local`) ---------

    def list_endpoints(self) -> dict:
        return self.request("GET", "endpoints")

    def put_endpoint(
        self,
        name: str = "default",
        instance_type: str | None = None,
        min_instances: int | None = None,
        max_instances: int | None = None,
        target_backlog: float | None = None,
    ) -> dict:
        """Create the endpoint, or change its instance type or scaling (unset fields: the API's defaults)."""
        body = {
            "name": name,
            "instance_type": instance_type,
            "min_instances": min_instances,
            "max_instances": max_instances,
            "target_backlog": target_backlog,
        }
        return self.request("POST", "endpoints", json={k: v for k, v in body.items() if v is not None})

    def delete_endpoint(self, name: str) -> dict:
        return self.request("DELETE", f"endpoints/{_quote(name)}")

    def download(self, url: str, dest: Path) -> Path:
        """Fetch an output URL (presigned, or relative to the API) to ``dest``."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        absolute = url.startswith(("http://", "https://"))
        doing = f"download {dest.name} from"
        try:
            # Presigned URLs carry their own signature: never send our token to them.
            ctx = (
                httpx.stream("GET", url, timeout=self.timeout, follow_redirects=True)
                if absolute
                else self._http().stream("GET", url.lstrip("/"))
            )
            with ctx as response:
                if not response.is_success:
                    raise status_error(response, doing)
                with tmp.open("wb") as fh:
                    for chunk in response.iter_bytes(1 << 20):
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            tmp.unlink(missing_ok=True)
            raise transport_error(exc, doing, url if absolute else self.base_url + url.lstrip("/")) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)  # never a half-written file beside the outputs
            raise
        tmp.replace(dest)
        return dest
