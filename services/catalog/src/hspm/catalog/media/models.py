"""Request bodies of the media area."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

SCREENSHOT_SORTS = ("caption", "created_at", "updated_at")
IMAGE_FIELDS = {"logo": ("logo", "product[logo]"), "screenshot": ("image", "screenshot[image]")}
CAPTION_FIELDS = ("caption", "screenshot[caption]")


class ScreenshotFields(BaseModel):
    """``{"screenshot": {"caption": ...}}``; the image travels as a multipart part."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    caption: str | None = Field(None, min_length=1, max_length=500)


@dataclass(frozen=True)
class Upload:
    """What a write sent: image bytes (if any) and a caption (if any)."""

    image: bytes | None = None
    caption: str | None = None
