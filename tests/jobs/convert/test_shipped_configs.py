"""The shipped configs and tokenizers are right for full-size models, checked without weights.

Full-size shapes come from sd-mecha's published key lists; the diffusers models are
built from the shipped configs on the meta device (no memory), and every tensor the
conversion plan would write must exist in the model with exactly that shape.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.support.env import need

pytestmark = pytest.mark.torch


def _full_size(name: str) -> dict:
    from tests.support.checkpoint_layouts import published
    from tests.support.sd_mecha import sd_mecha_configs

    need(sd_mecha_configs() is not None, "sd-mecha's published key lists (run .ci/convert_test_data.sh)")
    return {k: shape for k, (shape, _) in published(name).items()}


@pytest.mark.parametrize("arch, layout", [("sd1", "sd1-ldm"), ("sdxl", "sdxl-sgm")])
def test_plan_shapes_match_models_built_from_shipped_configs(arch, layout):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from sdaws_jobs.convert.configs import shipped
    from sdaws_jobs.convert.convert import _configs
    from sdaws_jobs.convert.detection import detect
    from sdaws_jobs.convert.plan import make_plan, out_shape

    shapes = _full_size(layout)
    det = detect({k: torch.empty(s, device="meta") for k, s in shapes.items()})
    assert det.arch == arch
    configs = _configs(arch, shapes, det)
    for component, cfg in configs.items():  # fitting a real-size file changes nothing shipped
        want = shipped(arch, component)
        assert {k: v for k, v in cfg.items() if k in want and k != "sample_size"} == {
            k: v for k, v in want.items() if k != "sample_size"
        }, component
    plan = make_plan(shapes, arch, {c: configs[c]["num_hidden_layers"] for c in configs if c.startswith("text")})
    with torch.device("meta"):
        models = {
            "unet": UNet2DConditionModel.from_config(configs["unet"]),
            "vae": AutoencoderKL.from_config(configs["vae"]),
        }
        for name in ("text_encoder", "text_encoder_2"):
            if name in configs:
                cls = CLIPTextModelWithProjection if name == "text_encoder_2" else CLIPTextModel
                models[name] = cls(CLIPTextConfig(**configs[name]))
    for component, moves in plan.components.items():
        model_shapes = {k: tuple(v.shape) for k, v in models[component].state_dict().items()}
        # transformers may flatten CLIPTextModel's `text_model.` wrapper; compare both spellings.
        model_shapes.update({"text_model." + k: v for k, v in list(model_shapes.items())})
        written = {m.out_key: out_shape(shapes[m.src_key], m.op) for m in moves}
        for key, shape in written.items():
            assert model_shapes.get(key) == shape, f"{component}.{key}: {shape} vs {model_shapes.get(key)}"
        assert len(written) >= len(models[component].state_dict()) - 1, component


def test_shipped_tokenizer_files_are_derived_from_the_clip_bpe_file():
    from sdaws_jobs.convert.configs import configs_root
    from sdaws_jobs.convert.tokenizer_files import derive

    spec = importlib.util.find_spec("open_clip")
    need(spec is not None, "open-clip-torch's BPE file (run .ci/convert_test_data.sh)")
    bpe = Path(list(spec.submodule_search_locations)[0]) / "bpe_simple_vocab_16e6.txt.gz"
    vocab, merges = derive(bpe)
    import json

    shipped_vocab = json.loads((configs_root() / "tokenizer" / "vocab.json").read_text(encoding="utf-8"))
    shipped_merges = (configs_root() / "tokenizer" / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
    assert shipped_vocab == vocab and len(vocab) == 49408
    assert shipped_merges == merges


def test_sd1_and_sd2_tokenizers_pad_as_the_originals(converted):
    from transformers import CLIPTokenizer

    sd1 = CLIPTokenizer.from_pretrained(str(converted("sd1") / "tokenizer"))
    sd2 = CLIPTokenizer.from_pretrained(str(converted("sd2-768") / "tokenizer"))
    ids1 = sd1("a photo of a cat", padding="max_length", max_length=77).input_ids
    ids2 = sd2("a photo of a cat", padding="max_length", max_length=77).input_ids
    assert ids1[:7] == [49406, 320, 1125, 539, 320, 2368, 49407]  # OpenAI CLIP's ids for this text
    assert ids1[-1] == 49407 and ids2[-1] == 0  # SD1 pads with <|endoftext|>, SD2 with "!"
