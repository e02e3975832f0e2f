"""Merge methods through the local server's API: each result equals its formula on every tensor.

The formulas are written here again in numpy, from their published descriptions (the
WebUI's old Sigmoid/Inverse Sigmoid, SLERP, TIES-merging with DARE, the MBW extension's
block order), so the job is checked against an independent implementation.
"""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.env import need, torch_available
from tests.support.parity import run, submit

pytestmark = [pytest.mark.torch, pytest.mark.slow]

BLOCK_KEYS = (
    [f"model.diffusion_model.input_blocks.{i}.0.weight" for i in range(12)]
    + ["model.diffusion_model.middle_block.1.weight"]
    + [f"model.diffusion_model.output_blocks.{i}.0.weight" for i in range(12)]
)
OTHER_KEYS = [
    "model.diffusion_model.time_embed.0.weight",
    "cond_stage_model.transformer.w.weight",
    "first_stage_model.z",
]


@pytest.fixture
def checkpoints(models_dir):
    need(torch_available(), "torch is needed to write the test checkpoints")
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for name in "abc":
        t = {k: torch.randn(3, 4, generator=gen) for k in BLOCK_KEYS + OTHER_KEYS}
        t["cond_stage_model.position_ids"] = torch.arange(5).unsqueeze(0)  # integers: copied from A
        t["model.diffusion_model.conv_in.weight"] = torch.randn(2, 9 if name == "b" else 4, generator=gen)
        save_file(t, str(models_dir / "Stable-diffusion" / f"m{name}.safetensors"))
        tensors[name] = {k: v.numpy() for k, v in t.items()}
    return tensors


@pytest.fixture
def api(start_server, checkpoints):
    return start_server(job_command=job_command)[1]


def _merged(models_dir, name: str) -> tuple[dict, dict]:
    from safetensors import safe_open

    with safe_open(str(models_dir / "Stable-diffusion" / f"{name}.safetensors"), "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def _smooth(m):
    return m * m * (3 - 2 * m)


def _inverse_smooth(m):
    return 0.5 - math.sin(math.asin(1.0 - 2.0 * m) / 3.0)


def _slerp(a, b, m):
    fa, fb = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    dot = np.clip(fa @ fb / (np.linalg.norm(fa) * np.linalg.norm(fb)), -1, 1)
    if abs(dot) > 0.9995:
        return (1 - m) * a + m * b
    omega = np.arccos(dot)
    return (np.sin((1 - m) * omega) * a + np.sin(m * omega) * b) / np.sin(omega)


def _trim(delta, density):
    k = math.ceil(density * delta.size)
    threshold = np.sort(np.abs(delta).ravel())[::-1][k - 1]
    return delta * (np.abs(delta) >= threshold)


def _dare(delta, density, seed, index, key):
    import torch

    gen = torch.Generator().manual_seed(seed + zlib.crc32(f"{index}:{key}".encode()))
    keep = (torch.rand(delta.shape, generator=gen) < density).numpy()
    return delta * keep / density


def _ties(a, b, c, m, key, density, dare=False, seed=0):
    da, db = a - c, b - c
    if dare:
        da, db = _dare(da, density, seed, 0, key), _dare(db, density, seed, 1, key)
    else:
        da, db = _trim(da, density), _trim(db, density)
    stack = np.stack([da, db])
    sign = np.sign(stack.sum(axis=0))
    agree = (np.sign(stack) == sign) & (stack != 0)
    merged = (stack * agree).sum(axis=0) / np.maximum(agree.sum(axis=0), 1)
    return c + m * merged


MBW = [round(0.04 * i, 2) for i in range(25)]


def _block_m(key: str, base: float, weights) -> float:
    if weights is None or key not in BLOCK_KEYS:
        return base
    return weights[BLOCK_KEYS.index(key)]  # BLOCK_KEYS is IN00..IN11, M00, OUT00..OUT11


CASES = {
    "weighted_sum": ({}, lambda a, b, c, m, k: (1 - m) * a + m * b),
    "add_difference": ({"model_c": "mc.safetensors"}, lambda a, b, c, m, k: a + m * (b - c)),
    "sigmoid": ({}, lambda a, b, c, m, k: a + (b - a) * _smooth(m)),
    "inverse_sigmoid": ({}, lambda a, b, c, m, k: a + (b - a) * _inverse_smooth(m)),
    "slerp": ({}, lambda a, b, c, m, k: _slerp(a, b, m)),
    "ties": ({"model_c": "mc.safetensors", "density": 0.5}, lambda a, b, c, m, k: _ties(a, b, c, m, k, 0.5)),
    "ties-dare": (
        {"mode": "ties", "model_c": "mc.safetensors", "density": 0.6, "dare": True, "seed": 7},
        lambda a, b, c, m, k: _ties(a, b, c, m, k, 0.6, dare=True, seed=7),
    ),
    "weighted_sum-mbw": ({"mode": "weighted_sum", "block_weights": MBW}, lambda a, b, c, m, k: (1 - m) * a + m * b),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_merge_method_equals_its_formula_on_every_tensor(api, models_dir, checkpoints, case):
    extra, formula = CASES[case]
    mode = extra.get("mode", case)
    params = {"model_a": "ma.safetensors", "model_b": "Stable-diffusion/mb.safetensors", "multiplier": 0.3}
    params |= extra | {"mode": mode, "output_name": f"out-{case}"}
    job = run(api, "merge", params)
    assert [o["key"] for o in job["outputs"]] == [f"Stable-diffusion/out-{case}.safetensors"]
    merged, metadata = _merged(models_dir, f"out-{case}")
    a, b, c = checkpoints["a"], checkpoints["b"], checkpoints["c"]
    assert set(merged) == set(a)
    for key in BLOCK_KEYS + OTHER_KEYS:
        m = _block_m(key, 0.3, extra.get("block_weights"))
        expected = formula(a[key], b[key], c[key], m, key)
        np.testing.assert_allclose(merged[key], expected, rtol=1e-5, atol=1e-6, err_msg=f"{case} {key}")
    np.testing.assert_array_equal(merged["cond_stage_model.position_ids"], a["cond_stage_model.position_ids"])
    np.testing.assert_array_equal(
        merged["model.diffusion_model.conv_in.weight"], a["model.diffusion_model.conv_in.weight"]
    )
    recipe = json.loads(metadata["sd_merge_recipe"])
    assert recipe["multiplier"] == 0.3 and len(recipe["primary_model_hash"]) == 64
    assert recipe["interp_method"] == {"weighted_sum": "Weighted sum", "add_difference": "Add difference"}.get(
        mode, mode
    )
    assert json.loads(metadata["sdaws_merge"])["mode"] == mode
    models = json.loads(metadata["sd_merge_models"])
    assert {m["name"] for m in models.values()} >= {"ma.safetensors", "mb.safetensors"}


def test_mbw_needs_the_webui_block_count_and_ties_a_base(api):
    answer = submit(
        api,
        "merge",
        {"model_a": "ma.safetensors", "model_b": "mb.safetensors", "output_name": "x", "block_weights": [0.5] * 24},
    )
    assert answer.status_code == 422 and "25 (SD1/SD2) or 19 (SDXL)" in answer.json()["message"]
    answer = submit(
        api, "merge", {"model_a": "ma.safetensors", "model_b": "mb.safetensors", "output_name": "x", "mode": "ties"}
    )
    assert answer.status_code == 422 and "ties needs model_c" in answer.json()["message"]


def test_a_lora_baked_into_a_checkpoint_adds_its_product_where_kohya_names_it(start_server, models_dir, tmp_path):
    need(torch_available(), "torch is needed")
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from sdaws_jobs.convert import export_pipeline
    from tests.support.tiny_models import save_pipeline

    export_pipeline(save_pipeline(tmp_path / "tiny"), models_dir / "Stable-diffusion" / "tiny.safetensors")
    gen = torch.Generator().manual_seed(3)
    # kohya module -> (the original-layout key it patches, down shape, up shape), as SD1 LoRAs name them.
    modules = {
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q": (
            "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight",
            (2, 16),
            (16, 2),
        ),
        "lora_unet_down_blocks_0_attentions_0_proj_in": (
            "model.diffusion_model.input_blocks.1.1.proj_in.weight",
            (2, 16, 1, 1),
            (16, 2, 1, 1),
        ),
        "lora_unet_down_blocks_0_resnets_0_conv1": (
            "model.diffusion_model.input_blocks.1.0.in_layers.2.weight",
            (2, 16, 3, 3),
            (16, 2, 1, 1),
        ),
        "lora_te_text_model_encoder_layers_0_self_attn_q_proj": (
            "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight",
            (2, 16),
            (16, 2),
        ),
    }
    lora, expected_delta = {}, {}
    for module, (key, down_shape, up_shape) in modules.items():
        down, up = torch.randn(down_shape, generator=gen), torch.randn(up_shape, generator=gen)
        lora |= {
            f"{module}.lora_down.weight": down,
            f"{module}.lora_up.weight": up,
            f"{module}.alpha": torch.tensor(1.0),
        }
        product = up.flatten(1) @ down.flatten(1)
        expected_delta[key] = 0.8 * (1.0 / 2) * product.reshape(up_shape[0], *down_shape[1:])
    (models_dir / "Lora").mkdir()
    save_file(lora, str(models_dir / "Lora" / "style.safetensors"))
    api = start_server(job_command=job_command)[1]
    params = {
        "model_a": "tiny.safetensors",
        "mode": "no_interpolation",
        "loras": [{"name": "style.safetensors", "weight": 0.8}],
        "output_name": "tiny-style",
    }
    run(api, "merge", params)
    before = load_file(str(models_dir / "Stable-diffusion" / "tiny.safetensors"))
    after = load_file(str(models_dir / "Stable-diffusion" / "tiny-style.safetensors"))
    assert set(before) == set(after)
    for key in before:
        if key in expected_delta:
            torch.testing.assert_close(
                after[key].float(),
                before[key].float() + expected_delta[key].reshape(before[key].shape),
                rtol=1e-3,
                atol=1e-3,
            )
        else:
            assert torch.equal(after[key], before[key]), key
    with safe_open(str(models_dir / "Stable-diffusion" / "tiny-style.safetensors"), "pt") as f:
        assert json.loads(f.metadata()["sd_merge_recipe"])["loras"][0]["name"] == "style.safetensors"
