"""Image checks and variants with Pillow: synchronous, so callers run them in a thread."""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass
from uuid import UUID

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from hspm.common.errors import ValidationFailed

# Only these decoders ever see uploaded bytes; Pillow would otherwise try dozens.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
SIZES = {"small": 100, "medium": 200, "large": 400}
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Variants:
    """A re-encoded image (metadata stripped) and its three bounded sizes."""

    content_type: str
    width: int
    height: int
    original: bytes
    small: bytes
    medium: bytes
    large: bytes


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=FORMATS)


def _checked(data: bytes, field: str, max_pixels: int) -> Image.Image:
    """Decoded first frame; 422 for anything that is not a sane PNG/JPEG/WebP/GIF."""
    try:
        with _open(data) as probe:
            # The header states the dimensions: refuse a decompression bomb before decoding.
            width, height = probe.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise ValidationFailed.field(field, f"must have at most {max_pixels} pixels")
            probe.verify()
        image = _open(data)
        image.seek(0)
        image.load()
        return image
    except Image.DecompressionBombError as exc:
        raise ValidationFailed.field(field, f"must have at most {max_pixels} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # verify() and truncated data raise these; the client sent something unusable.
        raise ValidationFailed.field(field, "must be a PNG, JPEG, WebP or GIF image") from exc


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _encode(image: Image.Image, alpha: bool) -> bytes:
    out = io.BytesIO()
    if alpha:
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _bounded(image: Image.Image, box: int, alpha: bool) -> bytes:
    copy = image.copy()
    copy.thumbnail((box, box), Image.Resampling.LANCZOS)
    return _encode(copy, alpha)


def variants(data: bytes, max_pixels: int, field: str = "image") -> Variants:
    """Validate ``data`` and produce the stored forms; re-encoding drops EXIF and the like."""
    image = _checked(data, field, max_pixels)
    alpha = _has_alpha(image)
    # Apply the camera's rotation before the EXIF that records it is dropped.
    upright = ImageOps.exif_transpose(image.convert("RGBA" if alpha else "RGB"))
    upright.info.clear()
    return Variants(
        content_type="image/png" if alpha else "image/jpeg",
        width=upright.width,
        height=upright.height,
        original=_encode(upright, alpha),
        small=_bounded(upright, SIZES["small"], alpha),
        medium=_bounded(upright, SIZES["medium"], alpha),
        large=_bounded(upright, SIZES["large"], alpha),
    )


def initials(name: str) -> str:
    """Up to two letters from the first words of a product name ("Growth Chart" → "GC")."""
    letters = [w[0] for w in name.split() if w and w[0].isalnum()]
    return "".join(letters[:2]).upper() or "?"


def _colour(product_id: UUID) -> tuple[int, int, int]:
    # A hue from the id: stable per product, spread across the wheel, always readable.
    hue = product_id.int % 360 / 360
    r, g, b = colorsys.hls_to_rgb(hue, 0.42, 0.55)
    return int(r * 255), int(g * 255), int(b * 255)


def placeholder(product_id: UUID, name: str, size: str) -> bytes:
    """A square PNG with the product's initials, for products without a logo."""
    box = SIZES[size]
    image = Image.new("RGB", (box, box), _colour(product_id))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=box * 2 // 5)
    draw.text((box / 2, box / 2), initials(name), fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
