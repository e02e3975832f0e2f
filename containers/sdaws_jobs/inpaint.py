"""Inpainting: img2img with a mask, on inpaint checkpoints (9-channel UNet) and normal ones.

The mask is a job input: white repaints, black keeps (`inpainting_mask_invert` swaps
them), blurred by `mask_blur` pixels. "Masked content" fill replaces the masked pixels
by their surroundings' colours first (the WebUI's masking.fill, same radii), original
keeps them. "Inpaint area: only masked" crops around the mask with the given padding,
inpaints that crop at the full size and pastes it back (diffusers' padding_mask_crop,
ported from the WebUI). Whole-picture inpainting pastes the generated pixels over the
original through the blurred mask, so pixels outside the mask are the original's,
exactly as the WebUI's overlay does.
"""

from __future__ import annotations

from sdaws.contract.specs import Img2ImgSpec

# The WebUI's fill: blur outwards from the kept pixels at shrinking radii.
_FILL_PASSES = ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1))


def prepare_mask(mask, spec: Img2ImgSpec, size: tuple[int, int]):
    """The mask at the generation size, inverted if asked, blurred (mode L)."""
    from PIL import Image, ImageFilter, ImageOps

    mask = mask.convert("L").resize(size, Image.LANCZOS)
    if spec.inpainting_mask_invert:
        mask = ImageOps.invert(mask)
    if spec.mask_blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(spec.mask_blur))
    return mask


def fill(image, mask):
    """masking.fill from the WebUI: masked pixels become a blur of the unmasked ones."""
    from PIL import Image, ImageFilter, ImageOps

    image_mod = Image.new("RGBA", image.size)
    image_masked = Image.new("RGBa", image.size)
    image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask.convert("L")))
    image_masked = image_masked.convert("RGBa")
    for radius, repeats in _FILL_PASSES:
        blurred = image_masked.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            image_mod.alpha_composite(blurred)
    return image_mod.convert("RGB")


def init_image_for(image, mask, spec: Img2ImgSpec):
    return fill(image, mask) if spec.inpainting_fill == 0 else image


def pipeline_arguments(image, mask, spec: Img2ImgSpec) -> dict:
    args = {"mask_image": mask}
    if spec.inpaint_full_res:
        args["padding_mask_crop"] = spec.inpaint_full_res_padding
    return args


def overlay(generated, original, mask, spec: Img2ImgSpec):
    """Unmasked pixels back from the original (only-masked mode already pasted its crop back)."""
    from PIL import Image

    if spec.inpaint_full_res:
        return generated
    return Image.composite(generated.convert("RGB"), original.convert("RGB"), mask)
