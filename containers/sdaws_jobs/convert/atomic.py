"""Write a folder or file under a temporary name and rename it into place on success,
so an interrupted or failed job never leaves something that looks finished."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import ConvertError


@contextlib.contextmanager
def atomic_dir(target: Path):
    target = Path(target)
    if target.exists():
        raise ConvertError(f"{target} already exists; remove it or choose another --output")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: Path, overwrite: bool = False):
    target = Path(target)
    if target.exists() and not overwrite:
        raise ConvertError(f"{target} already exists; remove it or choose another --output")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
