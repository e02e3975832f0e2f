"""The part-signing key: made whole or not at all, and never used empty.

A first start on a nearly full disk once left `part-signing.key` empty; the server then
signed (and accepted) URLs with an empty HMAC key, so anyone could forge them. The
full disk here is the OS's own: the key is made in a process whose file-size limit
(RLIMIT_FSIZE) is smaller than the key, so its write fails as on a full disk.
"""

from __future__ import annotations

import hashlib
import hmac
import stat
import subprocess
import sys
import time

import pytest
import requests

from sam_app.adapters.local.signing import KEY_FILE, PartSigner, UnusableSigningKey, load_or_create_key
from tests.support.api_world import TOKEN

MAKE_KEY_WITH_NO_ROOM = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (8, 8))
from sam_app.adapters.local.signing import UnusableSigningKey, load_or_create_key
try:
    load_or_create_key(sys.argv[1])
except UnusableSigningKey as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_key_that_could_not_be_written_leaves_no_file_and_the_next_start_makes_a_whole_one(tmp_path):
    failed = subprocess.run(
        [sys.executable, "-c", MAKE_KEY_WITH_NO_ROOM, str(tmp_path)], capture_output=True, text=True
    )
    assert failed.returncode == 3, failed.stderr
    assert "cannot create the signing key" in failed.stdout
    assert not (tmp_path / KEY_FILE).exists() and list(tmp_path.iterdir()) == []
    key = load_or_create_key(tmp_path)
    assert len(key) == 32 and (tmp_path / KEY_FILE).read_bytes() == key
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path) == key, "the same key on every start"


@pytest.mark.parametrize("content", [b"", b"short"])
def test_an_empty_or_short_key_stops_the_server_from_starting(tmp_path, content):
    from sam_app.local_server.server import LocalApiServer

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / KEY_FILE).write_bytes(content)
    with pytest.raises(UnusableSigningKey) as refused:
        LocalApiServer(tmp_path / "models", tmp_path / "data", TOKEN)
    assert "delete it and start again" in str(refused.value)


def test_with_an_empty_key_on_disk_a_forged_part_url_gets_nowhere(tmp_path):
    """What an attacker would send once the key was empty: a URL signed with the empty key."""
    from sam_app.local_server.server import serve_in_thread

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / KEY_FILE).write_bytes(b"")
    try:
        handle = serve_in_thread(tmp_path / "models", tmp_path / "data", TOKEN)
    except UnusableSigningKey:
        return  # refused to start: nothing to forge against
    try:
        expires = int(time.time()) + 600
        upload = "0" * 32
        forged = hmac.new(b"", f"{upload}:1:{expires}".encode(), hashlib.sha256).hexdigest()
        r = requests.put(f"{handle.url}/_parts/{upload}/1?expires={expires}&signature={forged}", data=b"x")
        assert r.status_code == 403
    finally:
        handle.stop()


def test_the_signer_refuses_a_short_key():
    for key in (b"", b"x" * 31):
        with pytest.raises(ValueError):
            PartSigner(key)
    assert PartSigner(b"k" * 32).valid("u", 1, "9999999999", "nope") is False
