"""The job image's CPU twin: containers/Dockerfile's own stages and pins, built offline.

  * the base: a Debian bookworm rootfs with python3 (debootstrap, then `docker import`),
    the way ../shared/tools/lambda-emulation-image.sh builds the Lambda base; it stands
    in for the slim Python image (same Debian release, same Python minor version);
  * the wheels: `pip download` of containers/requirements.txt plus torch under
    containers/constraints.txt, i.e. the very pins the image and CI install; torch==2.13.0
    resolves to the CPU build pip finds on local disk;
  * the image: `docker build -f containers/Dockerfile` with BASE_IMAGE=<that base>,
    PIP_OFFLINE=--no-index and the wheels in containers/wheelhouse/ of the context.

Both images are tagged by a hash of what goes into them, so a run builds each at most
once and a later run on the same machine reuses them (`python -m tests.support.job_image`
builds them ahead, e.g. in CI's install step).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.env import REPO_ROOT

CONTAINERS = REPO_ROOT / "containers"
DEBIAN_RELEASE = "bookworm"
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
BASE_REPOSITORY = "sdaws-test/job-base-cpu"
IMAGE_REPOSITORY = "sdaws-test/jobs-cpu"
CACHE = Path(os.environ.get("SDAWS_TEST_CACHE", Path.home() / ".cache" / "sdaws-test"))


def _log(message: str) -> None:
    print(f"[job-image] {message}", file=sys.stderr, flush=True)


def _digest(*parts: bytes | str) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def image_present(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _as_root(cmd: list[str]) -> list[str]:
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


# ------------------------------------------------------------------ base
def base_tag() -> str:
    return f"{BASE_REPOSITORY}:{_digest(DEBIAN_RELEASE, BASE_PACKAGES)}"


def ensure_base() -> str:
    tag = base_tag()
    if image_present(tag):
        return tag
    if not shutil.which("debootstrap"):
        subprocess.run(_as_root(["apt-get", "update", "-qq"]), check=True, capture_output=True)
        subprocess.run(
            _as_root(["apt-get", "install", "-y", "-qq", "debootstrap"]),
            check=True,
            capture_output=True,
            env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
        )
    root = Path(tempfile.mkdtemp(prefix="sdaws-job-rootfs-"))
    _log(f"debootstrap {DEBIAN_RELEASE} into {root} (about a minute)")
    try:
        result = subprocess.run(
            _as_root(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", DEBIAN_RELEASE, str(root)]),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        tar = subprocess.Popen(_as_root(["tar", "-C", str(root), "-c", "."]), stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-c", "ENV LANG=C.UTF-8", "-", tag], stdin=tar.stdout, check=True, capture_output=True
        )
        if tar.wait() != 0:
            raise RuntimeError("tar of the rootfs failed")
    finally:
        subprocess.run(_as_root(["rm", "-rf", str(root)]), capture_output=True)
    _log(f"built {tag}")
    return tag


# ------------------------------------------------------------------ wheels
def wheelhouse() -> Path:
    """The constrained closure of the image's requirements, downloaded once per pin set."""
    constraints = (CONTAINERS / "constraints.txt").read_bytes()
    requirements = (CONTAINERS / "requirements.txt").read_bytes()
    folder = CACHE / f"wheelhouse-{_digest(constraints, requirements)}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _log(f"pip download into {folder}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "-d",
            str(folder),
            "-c",
            str(CONTAINERS / "constraints.txt"),
            "-r",
            str(CONTAINERS / "requirements.txt"),
            "torch",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:  # spandrel without its dependencies, as the Dockerfile installs it
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "-d", str(folder), "-c", str(CONTAINERS / "constraints.txt"), "spandrel"],
            capture_output=True,
            text=True,
        )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"pip download failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    (folder / ".complete").touch()
    return folder


# ------------------------------------------------------------------ image
def context_files() -> list[Path]:
    """The files of the build context, as .dockerignore admits them (relative paths)."""
    rules = []
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), line.lstrip("!")))
    files = []
    for path in sorted(p for p in REPO_ROOT.rglob("*") if p.is_file() and ".git" not in p.parts):
        rel = path.relative_to(REPO_ROOT).as_posix()
        keep = False
        for allow, pattern in rules:
            pattern = pattern.removeprefix("**/")
            if (
                fnmatch.fnmatch(rel, pattern)
                or rel.startswith(pattern.rstrip("/") + "/")
                or any(fnmatch.fnmatch(part, pattern) for part in rel.split("/"))
            ):
                keep = allow
        if keep and path.suffix != ".whl":
            files.append(Path(rel))
    return files


def image_tag(base: str, wheels: Path) -> str:
    parts: list[bytes | str] = [base, *sorted(p.name for p in wheels.glob("*.whl"))]
    parts.append((CONTAINERS / "Dockerfile").read_bytes())
    for rel in context_files():
        parts += [rel.as_posix(), (REPO_ROOT / rel).read_bytes()]
    return f"{IMAGE_REPOSITORY}:{_digest(*parts)}"


def ensure_image() -> str:
    """The CPU twin's tag, built if this content has not been built on this machine."""
    base = ensure_base()
    wheels = wheelhouse()
    tag = image_tag(base, wheels)
    if image_present(tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="sdaws-job-context-") as tmp:
        context = Path(tmp)
        for rel in context_files():
            (context / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / rel, context / rel)
        shutil.copy2(REPO_ROOT / ".dockerignore", context / ".dockerignore")
        shutil.copy2(CONTAINERS / "Dockerfile", context / "containers" / "Dockerfile")
        for wheel in wheels.glob("*.whl"):
            target = context / "containers" / "wheelhouse" / wheel.name
            if wheel.stat().st_dev == context.stat().st_dev:
                os.link(wheel, target)  # no second copy of 300 MB of wheels
            else:
                shutil.copy2(wheel, target)
        _log(f"docker build {tag}")
        result = subprocess.run(
            [
                "docker",
                "build",
                "-f",
                str(context / "containers" / "Dockerfile"),
                "--build-arg",
                f"BASE_IMAGE={base}",
                "--build-arg",
                "PIP_OFFLINE=--no-index",
                "-t",
                tag,
                str(context),
            ],
            capture_output=True,
            text=True,
            env=os.environ | {"DOCKER_BUILDKIT": "0"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker build failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
    _log(f"built {tag}")
    return tag


if __name__ == "__main__":
    print(ensure_image())
