"""A corpus of hostile inputs the tests generate: safetensors files, model names, JSON bodies.

Each family holds what the attack run against `sdaws serve` and the converter sent
(deep nesting, shapes that are not lists of integers, products past 64 bits, lengths
past the file, text JSON cannot carry…) and the neighbours of each. Tests feed them to
the real reader, the real server and the real converter and expect a clear refusal,
never a 500, a traceback or a restart.
"""

from __future__ import annotations

import json
import struct

GOOD_ENTRY = {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}


def _file(header: bytes | str, data: bytes = b"\0" * 8, length: int | None = None) -> bytes:
    raw = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _entry(**changes) -> str:
    return json.dumps({"w": GOOD_ENTRY | changes})


def _nested(levels: int, where: str) -> str:
    deep = "[" * levels + "]" * levels
    if where == "metadata":
        return '{"__metadata__": {"x": ' + deep + '}, "w": ' + json.dumps(GOOD_ENTRY) + "}"
    return '{"w": {"dtype": "F16", "shape": ' + deep + ', "data_offsets": [0, 8]}}'


def hostile_safetensors() -> dict[str, bytes]:
    """name -> the bytes of a whole `.safetensors` file that no reader may trust."""
    corpus = {
        "shorter than the length field": b"\x01\x02\x03",
        "length zero": _file(b"", length=0),
        "length past the file": _file(_entry(), length=10_000),
        "length 2**64-1": _file(_entry(), length=2**64 - 1),
        "length just over the cap": _file(b"{}", length=100 * 1024 * 1024 + 1),
        "header not utf-8": _file(b'{"w": "\xff\xfe"}'),
        "header with a BOM": _file(b"\xef\xbb\xbf" + _entry().encode()),
        "header not json": _file(b"{not json at all"),
        "header a list": _file(b"[1, 2, 3]"),
        "header a string": _file(b'"hello"'),
        "header null": _file(b"null"),
        "integer shape": _file(_entry(shape=5)),
        "null shape": _file(_entry(shape=None)),
        "string shape": _file(_entry(shape="2,2")),
        "negative dimension": _file(_entry(shape=[-2, -2])),
        "float dimension": _file(_entry(shape=[2.0, 2])),
        "boolean dimensions": _file(_entry(shape=[True, True, True, True, True, True, True, True])),
        "nested shape": _file(_entry(shape=[[2], [2]])),
        "shape product past 64 bits": _file(_entry(shape=[2**62, 2**62, 2**62])),
        "shape product wraps to the byte count": _file(_entry(shape=[2**63, 2**63], data_offsets=[0, 0])),
        "a dimension with 5000 digits": _file(
            '{"w": {"dtype": "F16", "shape": [' + "9" * 5000 + '], "data_offsets": [0, 8]}}'
        ),
        "offsets reversed": _file(_entry(data_offsets=[8, 0])),
        "offsets past the file": _file(_entry(data_offsets=[0, 2**40])),
        "offsets strings": _file(_entry(data_offsets=["0", "8"])),
        "offsets a number": _file(_entry(data_offsets=8)),
        "offsets three": _file(_entry(data_offsets=[0, 4, 8])),
        "dtype unknown": _file(_entry(dtype="F128")),
        "dtype a list": _file(_entry(dtype=["F16"])),
        "dtype an object": _file(_entry(dtype={"a": 1})),
        "dtype null": _file(_entry(dtype=None)),
        "entry a number": _file(b'{"w": 5}'),
        "entry a list": _file(b'{"w": [1, 2]}'),
        "entry a string": _file(b'{"w": "dtype"}'),
        "entry missing fields": _file(b'{"w": {}}'),
        "NaN in a shape": _file(b'{"w": {"dtype": "F16", "shape": [NaN], "data_offsets": [0, 8]}}'),
        "Infinity in metadata": _file(
            b'{"__metadata__": {"x": Infinity}, "w": ' + json.dumps(GOOD_ENTRY).encode() + b"}"
        ),
        "lone surrogate in a name": _file('{"\\ud800": ' + json.dumps(GOOD_ENTRY) + "}"),
        "lone surrogate in metadata": _file('{"__metadata__": {"k": "\\udfff"}, "w": ' + json.dumps(GOOD_ENTRY) + "}"),
        "metadata a list": _file(b'{"__metadata__": [1, 2], "w": ' + json.dumps(GOOD_ENTRY).encode() + b"}"),
        "metadata a string": _file(b'{"__metadata__": "x", "w": ' + json.dumps(GOOD_ENTRY).encode() + b"}"),
        "metadata deep in objects": _file(
            '{"__metadata__": ' + '{"a": ' * 50 + "1" + "}" * 50 + ', "w": ' + json.dumps(GOOD_ENTRY) + "}"
        ),
        "duplicate tensor names": _file(
            b'{"w": '
            + json.dumps(GOOD_ENTRY).encode()
            + b', "w": {"dtype": "F16", "shape": [9], "data_offsets": [0, 18]}}'
        ),
        "trailing garbage": _file(_entry().encode() + b" trailing"),
        "nul bytes": _file(b'{"w\x00": 1}'),
    }
    unet, clip = (
        "model.diffusion_model.input_blocks.0.0.weight",
        "cond_stage_model.transformer.text_model.final_layer_norm.weight",
    )
    for what, shape in (("an integer", 320), ("null", None), ("3 dims", [320, 4, 3]), ("a huge", [2**40, 9, 3, 3])):
        header = {unet: {"dtype": "F16", "shape": shape, "data_offsets": [0, 8]}, clip: GOOD_ENTRY}
        corpus[f"the UNet's first weight with {what} shape"] = _file(json.dumps(header))
    for levels in (40, 900, 3_000, 100_000):
        corpus[f"{levels} levels deep in a shape"] = _file(_nested(levels, "shape"))
        corpus[f"{levels} levels deep in metadata"] = _file(_nested(levels, "metadata"))
    return corpus


def many_items_header(items: int = 1_000_000) -> bytes:
    """A ~96 MiB header of a million tiny tensors: parsing it whole took +720 MiB."""
    entries = ",".join(f'"t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}' for i in range(items))
    return _file("{" + entries + "}", data=b"\0" * items)


def hostile_names() -> list[str]:
    """Model file names a WebUI tree on Linux, macOS or Windows cannot hold, or that address something else."""
    return [
        "漢" * 200 + ".safetensors",  # 600 UTF-8 bytes: past every filesystem's 255
        "é" * 130 + ".ckpt",  # 260 bytes in 135 characters
        "CON.safetensors",
        "con .safetensors",
        "CON .safetensors",
        "nul.ckpt",
        "COM1.safetensors",
        "lpt9.tar.safetensors",
        "ques?.safetensors",
        "star*.safetensors",
        "pipe|.safetensors",
        "colon:.safetensors",
        'quote".safetensors',
        "lt<gt>.safetensors",
        "trailing.safetensors ",
        "trailing.safetensors.",
        "..",
        "../x.safetensors",
        "a/b.safetensors",
        "a\\b.safetensors",
        ".hidden.safetensors",
        "tab\t.safetensors",
        "nul\x00.safetensors",
        "bell\x07.safetensors",
        "esc\x1b]0;owned\x07.safetensors",
        "\u202eevil.safetensors",
        " .safetensors",
        "x" * 300 + ".ckpt",
    ]


def hostile_bodies() -> dict[str, bytes]:
    """JSON bodies for POST routes that once broke the app (500) or its neighbours."""
    bodies = {}
    for levels in (33, 900, 3_000, 100_000):
        bodies[f"{levels} levels of lists"] = b"[" * levels + b"]" * levels
        bodies[f"params {levels} levels deep"] = (
            b'{"kind": "merge", "params": {"x": ' + b"[" * levels + b"]" * levels + b"}}"
        )
        bodies[f"objects {levels} levels deep"] = b'{"a": ' * levels + b"1" + b"}" * levels
    bodies["an integer with 5000 digits"] = b'{"type": "Lora", "filename": "x.ckpt", "size": ' + b"9" * 5000 + b"}"
    bodies["NaN size"] = b'{"type": "Lora", "filename": "x.ckpt", "size": NaN}'
    bodies["lone surrogate"] = b'{"type": "Lora", "filename": "\\ud800.ckpt", "size": 5}'
    bodies["not utf-8"] = b'{"type": "Lora", "filename": "\xff.ckpt", "size": 5}'
    bodies["string size"] = b'{"type": "Lora", "filename": "x.ckpt", "size": "5"}'
    bodies["boolean size"] = b'{"type": "Lora", "filename": "x.ckpt", "size": true}'
    bodies["float size"] = b'{"type": "Lora", "filename": "x.ckpt", "size": 5.5}'
    bodies["huge size"] = b'{"type": "Lora", "filename": "x.ckpt", "size": 1e309}'
    return bodies
