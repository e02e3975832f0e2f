"""The SageMaker inference contract: `GET /ping` and `POST /invocations` on port 8080.

    python -m sdaws_jobs.serve [--host 0.0.0.0] [--port 8080] [--models DIR]

SageMaker (real-time or async endpoints) starts the image with the argument `serve`
and sends each request body to /invocations; for async endpoints it reads the body
from S3 and writes the response back there. Two request shapes (JSON):

  * a job request from the sdaws API (what its async launcher writes):
        {"job_id", "kind": "txt2img" | "img2img", "spec": {<spec>},
         "inputs": [{"channel", "uri": "s3://...", "folder": bool}], "output": "s3://.../output/"}
    Inputs are staged into input/data/<channel>/ (models cached by URI), the images
    written as the one-shot job writes them, and output/ uploaded below `output`.
    Response: {"job_id", "kind", "outputs": [output events], "uploaded": [keys]}.
  * a direct generation: {"kind", "params": {<spec>}, "init_image_b64": "<img2img>"}
    with models from the tree under --models (default $SDAWS_MODELS_DIR, else
    /opt/ml/model): `model` in Stable-diffusion/ (or diffusers/), `vae` in VAE/,
    LoRAs in Lora/. Response: {"kind", "images": [{"png_b64", "seed", "infotext"}]}.

400 with {"error": "..."} when the request is wrong, 500 when generation fails. The
last pipeline stays loaded; requests run one at a time (one GPU) while /ping answers.

Logs: every line written to stdout or stderr while a job request runs (progress events,
library warnings, the access log line) starts with `[job <job id>] ` (sdaws.contract
.job_log), because the endpoint's one log group holds every request's lines and the API
finds a job's lines by its id. On a GPU instance whose GPU torch cannot use, `serve`
exits at once with the reason instead of serving from the CPU (runtime.py).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pydantic import ValidationError

from sdaws.contract.errors import InvalidInput
from sdaws.contract.job_log import tagged
from sdaws.contract.model_tree import CONVERTED_PREFIX, REQUIRED_TYPE
from sdaws.contract.outputs import LORA_FOLDER
from sdaws.contract.specs import Txt2ImgSpec, parse_spec

from .errors import SpecError
from .layout import Layout
from .model_ref import find_model

MAX_BODY = 64 * 1024 * 1024  # an init image as base64 fits easily; anything bigger is a mistake
_TREE = {"model": (REQUIRED_TYPE, CONVERTED_PREFIX), "vae": ("VAE",), "lora": (LORA_FOLDER,)}


class _CurrentJob(threading.local):
    job_id: str | None = None


_current = _CurrentJob()


class JobTaggedStream:
    """A text stream that tags each line a thread writes while it runs a job."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._partial = threading.local()

    def write(self, text: str) -> int:
        job_id = _current.job_id
        if job_id is None:
            return self._stream.write(text)
        # A carriage return (a progress bar redrawing itself) starts a new line in a log too.
        pending = getattr(self._partial, "text", "") + text.replace("\r\n", "\n").replace("\r", "\n")
        *lines, self._partial.text = pending.split("\n")
        for line in lines:
            self._stream.write(tagged(job_id, line) + "\n")
        return len(text)

    def end_job(self, job_id: str) -> None:
        rest = getattr(self._partial, "text", "")
        if rest:
            self._stream.write(tagged(job_id, rest) + "\n")
        self._partial.text = ""
        self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def install_job_tags() -> None:
    """Route this process's stdout and stderr through JobTaggedStream (idempotent)."""
    if not isinstance(sys.stdout, JobTaggedStream):
        sys.stdout = JobTaggedStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, JobTaggedStream):
        sys.stderr = JobTaggedStream(sys.stderr)  # type: ignore[assignment]


@contextmanager
def job_lines(job_id: str | None):
    """Lines this thread writes inside carry `job_id` (no tag for requests without one)."""
    if not job_id:
        yield
        return
    _current.job_id = job_id
    try:
        yield
    finally:
        _current.job_id = None
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, JobTaggedStream):
                stream.end_job(job_id)


@dataclass(frozen=True)
class TreeLayout(Layout):
    """The job layout over a model tree: each channel is the tree folder holding that kind."""

    models_root: Path = Path("/opt/ml/model")

    def channel(self, name: str) -> Path:
        folders = [self.models_root / f for f in _TREE.get(name, (name,))]
        return next((f for f in folders if f.is_dir() and any(f.iterdir())), folders[0])


class Generator:
    """Keeps the last pipeline loaded; one generation at a time."""

    def __init__(self, models_root: Path, cache_dir: Path | None = None):
        self.layout = TreeLayout(models_root, models_root, models_root=models_root)
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "sdaws-model-cache"
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._pipe = None
        self._scratch: str | None = None
        self._model_cache = None

    def model_cache(self):
        """Converted single files, kept across requests (and models) for the container's life;
        with a tree, its diffusers/ conversions are used as they are."""
        if self._model_cache is None:
            from .model_cache import ModelCache

            self._model_cache = ModelCache.from_env(
                tree_converted=self.layout.models_root / CONVERTED_PREFIX, default_root=self.cache_dir / "converted"
            )
        return self._model_cache

    def _pipeline(self, spec: Txt2ImgSpec, layout: Layout, source: tuple):
        from .generate import build_pipeline
        from .pipelines import set_scheduler
        from .runtime import pick_runtime

        key = (
            source,
            spec.model,
            spec.vae,
            tuple((lora.name, lora.weight) for lora in spec.loras),
            spec.half,
            spec.compile,
            # What else build_pipeline loads: embeddings change the tokenizer for good.
            tuple(spec.embeddings),
            tuple(unit.model for unit in spec.controlnet),
            spec.refiner_checkpoint,
            spec.hr_upscaler if spec.enable_hr else None,
            spec.preview_every,
        )
        if key != self._key:
            self._pipe, self._key = None, None
            if self._scratch:
                shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = tempfile.mkdtemp(prefix="sdaws-serve-")
            _quiet_progress_bars()
            runtime = pick_runtime(spec.half)
            self._pipe = build_pipeline(spec, layout, Path(self._scratch), runtime, cache=self.model_cache())
            self._pipe.pipe.set_progress_bar_config(disable=True)
            self._key = key
        set_scheduler(self._pipe.pipe, spec.scheduler)
        if self._pipe.previews is not None:
            self._pipe.previews.layout = layout  # this request's output folder
        return self._pipe

    def handle(self, body: dict) -> dict:
        """A job request from the sdaws API (inputs and outputs in S3) or a direct generation."""
        if "spec" in body:
            return self.run_job_request(body)
        return self.generate(body)

    def run_job_request(self, body: dict) -> dict:
        """Stage the inputs from S3, run the kind like a job, upload output/ to body["output"]."""
        from .generate import write_images
        from .s3_staging import stage_inputs, upload_file, upload_outputs

        kind = _kind(body)
        if not isinstance(body.get("spec"), dict) or not isinstance(body.get("output"), str):
            raise SpecError("a job request needs spec (an object) and output (an s3:// URI)")
        spec = parse_spec(kind, body["spec"])
        started = time.monotonic()
        print(f"{kind} request: {len(body.get('inputs') or [])} inputs, output to {body['output']}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="sdaws-request-") as work:
            layout = Layout(Path(work) / "input", Path(work) / "output")
            uris = stage_inputs(body.get("inputs") or [], layout.input_dir, self.cache_dir)
            with self._lock:
                kit = self._pipeline(spec, layout, tuple(uris))
                if kit.previews is not None:  # previews go up as they are made, so the client sees them live
                    kit.previews.on_written = lambda path: upload_file(layout.output_dir, path, body["output"])
                outputs = write_images(kit, spec, layout)
            keys = upload_outputs(layout.output_dir, body["output"])
        print(f"{kind} done: {len(keys)} files uploaded in {time.monotonic() - started:.1f} s", file=sys.stderr)
        return {"job_id": body.get("job_id"), "kind": kind, "outputs": outputs, "uploaded": keys}

    def generate(self, body: dict) -> dict:
        """Generation from params and the server's model tree; images come back inline."""
        from .pngmeta import png_info
        from .render import render

        kind = _kind(body)
        params = body.get("params")
        if not isinstance(params, dict):
            raise SpecError("params must be a JSON object with the generation fields")
        init_image = None
        if kind == "img2img":
            init_image = _decode_image(body.get("init_image_b64"))
            params = {"init_image": "init.png", **params}
        spec = parse_spec(kind, params)
        with self._lock:
            if self._key is None or self._key[1] != spec.model:
                find_model(self.layout.channel("model"), spec.model.rsplit("/", 1)[-1], strict=True)
            kit = self._pipeline(spec, self.layout, ("tree",))
            images = []
            for item in render(kit, spec, init_image):
                buffer = io.BytesIO()
                item.image.save(buffer, format="PNG", pnginfo=png_info(item.infotext))
                images.append(
                    {
                        "png_b64": base64.b64encode(buffer.getvalue()).decode("ascii"),
                        "seed": item.seed,
                        "infotext": item.infotext,
                    }
                )
        return {"kind": kind, "images": images}


def _quiet_progress_bars() -> None:
    """Loading bars redraw one line hundreds of times: noise in a log, not progress."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def _kind(body: dict) -> str:
    kind = body.get("kind", "txt2img")
    if kind not in ("txt2img", "img2img"):
        raise SpecError(f"kind must be txt2img or img2img, not {kind!r}")
    return kind


def _decode_image(data):
    from PIL import Image, UnidentifiedImageError

    if not isinstance(data, str) or not data:
        raise SpecError("img2img needs init_image_b64: the source image, base64-encoded")
    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as img:
            return img.convert("RGB")
    except (ValueError, UnidentifiedImageError, OSError) as exc:
        raise SpecError(f"init_image_b64 is not a base64-encoded image: {exc}") from exc


def _validation_message(exc: ValidationError) -> str:
    return "invalid params: " + "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'params'}: {e.get('msg')}" for e in exc.errors()
    )


def make_handler(generator: Generator):
    class Handler(BaseHTTPRequestHandler):
        server_version = "sdaws-serve"

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.split("?")[0] == "/ping":
                self._reply(200, {"status": "ok"})
            else:
                self._reply(404, {"error": "not found: the server answers GET /ping and POST /invocations"})

        def do_POST(self):
            if self.path.split("?")[0] != "/invocations":
                self._reply(404, {"error": "not found: the server answers GET /ping and POST /invocations"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._reply(400, {"error": "Content-Length must be a number"})
                return
            if length > MAX_BODY:
                self._reply(413, {"error": f"request body over {MAX_BODY} bytes"})
                return
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError as exc:
                self._reply(400, {"error": str(exc)})
                return
            job_id = body.get("job_id") if isinstance(body, dict) else None
            with job_lines(job_id if isinstance(job_id, str) else None):
                self._invoke(body)

        def _invoke(self, body) -> None:
            try:
                if not isinstance(body, dict):
                    raise SpecError("the request body must be a JSON object")
                self._reply(200, generator.handle(body))
            except (InvalidInput, ValidationError) as exc:
                message = _validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
                self.log_error("bad request: %s", message)
                self._reply(400, {"error": message})
            except Exception as exc:
                self.log_error("invocation failed: %r", exc)
                self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})

        def log_message(self, format, *args):
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    return Handler


def make_server(models_root: Path, host: str = "0.0.0.0", port: int = 8080) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(Generator(models_root)))


def serve(host: str = "0.0.0.0", port: int = 8080, model_dir: str | None = None) -> None:
    from .runtime import NoGpu, require_gpu_where_expected

    try:
        require_gpu_where_expected()  # fail now, not after hours of CPU generation
    except NoGpu as exc:
        sys.stderr.write(f"sdaws serve cannot start: {exc}\n")
        raise SystemExit(1) from None
    install_job_tags()
    root = Path(model_dir or os.environ.get("SDAWS_MODELS_DIR") or "/opt/ml/model")
    server = make_server(root, host, port)
    sys.stderr.write(f"sdaws serving on {host}:{server.server_address[1]}, models in {root}\n")
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sdaws_jobs.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", 8080)))
    parser.add_argument("--models", help="model tree root (default $SDAWS_MODELS_DIR or /opt/ml/model)")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
