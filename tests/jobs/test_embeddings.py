"""Textual inversions in the WebUI's layouts change the text encoding exactly where their name stands."""

from __future__ import annotations

import pytest

from tests.support.env import need, torch_available

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def pipe():
    need(torch_available(), "torch and diffusers are needed")
    from tests.support.tiny_models import build_pipeline

    return build_pipeline()


def test_the_vectors_become_the_tokens_input_embeddings_and_change_the_encoding(pipe, tmp_path):
    import torch

    from sdaws_jobs.embeddings import load_embeddings, rewrite_prompt, token_for
    from tests.support.parity_models import webui_embedding_pt

    vectors = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    webui_embedding_pt(tmp_path / "cat.pt", vectors)  # "cat" is an ordinary word: the private token avoids a clash
    before = pipe.encode_prompt("a cat", "cpu", 1, False)[0]
    hashes = load_embeddings(pipe, tmp_path, ["cat.pt"])
    assert list(hashes) == ["cat"] and len(hashes["cat"]) == 12
    ids = pipe.tokenizer.convert_tokens_to_ids([token_for("cat"), token_for("cat") + "_1"])
    table = pipe.text_encoder.get_input_embeddings().weight.detach()
    assert torch.equal(table[ids], vectors)
    prompt = pipe.maybe_convert_prompt(rewrite_prompt("a cat, cats", ["cat"]), pipe.tokenizer)
    assert prompt == f"a {token_for('cat')} {token_for('cat')}_1, cats"  # whole words only
    after = pipe.encode_prompt(rewrite_prompt("a cat", ["cat"]), "cpu", 1, False)[0]
    assert not torch.allclose(before, after)


def test_sdxl_and_single_tensor_layouts(tmp_path):
    import torch
    from safetensors.torch import save_file

    from sdaws_jobs.embeddings import vectors

    save_file({"clip_l": torch.ones(3, 768), "clip_g": torch.ones(3, 1280)}, str(tmp_path / "xl.safetensors"))
    parts = vectors(tmp_path / "xl.safetensors")
    assert parts["clip_l"].shape == (3, 768) and parts["clip_g"].shape == (3, 1280)
    torch.save({"<concept>": torch.ones(16)}, str(tmp_path / "concept.bin"))  # diffusers' concept layout
    assert vectors(tmp_path / "concept.bin")["clip_l"].shape == (1, 16)
