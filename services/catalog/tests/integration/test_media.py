"""Logos and screenshots: uploads, validation, variants, caching and visibility."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import pytest
from PIL import Image

from hspm.catalog.media import images

PAST = datetime.now(UTC) - timedelta(days=1)


async def product(catalog: Any, owner: UUID, listed: bool = True, name: str = "Growth Chart") -> UUID:
    pid = uuid4()
    when = PAST if listed else None
    await (await catalog.db()).execute(
        "INSERT INTO products (id, user_id, name, published_at, visible_at) VALUES ($1, $2, $3, $4, $4)",
        pid,
        owner,
        f"{name} {pid.hex[:6]}",
        when,
    )
    return pid


def image(fmt: str = "PNG", size: tuple[int, int] = (800, 400), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200) if mode == "RGB" else (10, 120, 200, 128)).save(out, fmt)
    return out.getvalue()


def bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG of a few dozen bytes whose header claims ``width``×``height``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def form(**fields: Any) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        name = name.replace("__", "[").replace("_x", "]") if "__" in name else name
        if isinstance(value, bytes):
            data.add_field(name, value, filename="f.bin", content_type="application/octet-stream")
        else:
            data.add_field(name, value)
    return data


async def put_logo(catalog: Any, pid: UUID, who: Any, body: bytes, ctype: str = "image/png") -> Any:
    return await catalog.put(
        f"/products/{pid}/logo", who, data=io.BytesIO(body), headers={"Content-Type": ctype}
    )


async def test_logo_upload_sizes_and_caching(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    r = await put_logo(catalog, pid, catalog.isv, image("JPEG", (800, 400)))
    assert r.status == 200, r
    assert r.body["content_type"] == "image/jpeg" and (r.body["width"], r.body["height"]) == (800, 400)
    for size, box in (("small", 100), ("medium", 200), ("large", 400)):
        got = await catalog.get(f"/products/{pid}/logo/{size}")
        assert got.status == 200, got
        assert got.headers["Content-Type"] == "image/jpeg"
        assert got.headers["Content-Disposition"] == "inline"
        assert "max-age" in got.headers["Cache-Control"]
        assert Image.open(io.BytesIO(got.body)).size == (box, box // 2)  # aspect kept
    got = await catalog.get(f"/products/{pid}/logo/small")
    again = await catalog.get(f"/products/{pid}/logo/small", headers={"If-None-Match": got.headers["ETag"]})
    assert again.status == 304 and again.body is None
    r = await catalog.get(f"/products/{pid}/logos")
    assert r.body["total_entries"] == 1 and r.body["results"][0]["images"]["small"].endswith("/logo/small")


async def test_alpha_stays_png_and_metadata_is_stripped(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(out, "PNG", pnginfo=_text_chunk("Author", "secret"))
    r = await catalog.put(
        f"/products/{pid}/logo", catalog.isv, data=form(**{"product[logo]": out.getvalue()})
    )
    assert r.status == 200, r
    got = await catalog.get(f"/products/{pid}/logo/large")
    assert got.headers["Content-Type"] == "image/png"
    assert "Author" not in Image.open(io.BytesIO(got.body)).info


def _text_chunk(key: str, value: str) -> Any:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


async def test_placeholder_when_no_logo_and_after_delete(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    got = await catalog.get(f"/products/{pid}/logo/medium")
    assert got.status == 200 and got.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(got.body)).size == (200, 200)
    assert (await catalog.get(f"/products/{pid}/logos")).body["results"] == []
    await put_logo(catalog, pid, catalog.isv, image())
    r = await catalog.delete(f"/products/{pid}/logo", catalog.isv)
    assert r.status == 200 and r.body["product_id"] == str(pid)
    assert (await catalog.delete(f"/products/{pid}/logo", catalog.isv)).status == 404
    assert (await catalog.get(f"/products/{pid}/logo/small")).headers["Content-Type"] == "image/png"


async def test_logo_rejects_bombs_non_images_and_floods(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    r = await put_logo(catalog, pid, catalog.isv, bomb())
    assert r.status == 422 and "logo" in r.errors, r
    r = await put_logo(catalog, pid, catalog.isv, bomb(6000, 6000))  # under Pillow's own limit, over ours
    assert r.status == 422 and "logo" in r.errors, r
    r = await put_logo(catalog, pid, catalog.isv, b"%PDF-1.4 not an image")
    assert r.status == 422 and "logo" in r.errors, r
    r = await put_logo(catalog, pid, catalog.isv, image()[:60])  # truncated
    assert r.status == 422, r
    r = await put_logo(catalog, pid, catalog.isv, b"\0" * (4 * 1024 * 1024 + 1))
    assert r.status == 413, r
    r = await put_logo(catalog, pid, catalog.isv, image(), ctype="text/plain")
    assert r.status == 415, r
    assert (await catalog.get(f"/products/{pid}/logos")).body["results"] == []


async def test_logo_authorization(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    draft = await product(catalog, catalog.isv.user_id, listed=False)
    assert (await put_logo(catalog, pid, None, b"junk")).status == 401  # before judging the body
    assert (await put_logo(catalog, pid, catalog.other_isv, image())).status == 403
    assert (await put_logo(catalog, draft, catalog.other_isv, image())).status == 404
    assert (await put_logo(catalog, pid, catalog.operator, image())).status == 200
    # A draft's logo is hidden like the draft itself.
    assert (await catalog.get(f"/products/{draft}/logo/small")).status == 404
    own = await catalog.get(f"/products/{draft}/logo/small", catalog.isv)
    assert own.status == 200 and own.headers["Cache-Control"].startswith("private")
    assert (await catalog.get(f"/products/{pid}/logo/huge")).status == 404
    assert (await catalog.get("/products/not-a-uuid/logo/small")).status == 404


async def screenshot(catalog: Any, pid: UUID, caption: str, who: Any = None) -> Any:
    data = form(**{"screenshot[caption]": caption, "screenshot[image]": image("PNG", (1200, 900))})
    return await catalog.post(f"/products/{pid}/screenshots", who or catalog.isv, data=data)


async def test_screenshot_crud_scoped_to_product(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    other = await product(catalog, catalog.isv.user_id, name="Other")
    r = await screenshot(catalog, pid, "Dashboard")
    assert r.status == 201, r
    sid = r.body["id"]
    assert r.headers["Location"] == r.body["url"] and r.body["caption"] == "Dashboard"
    assert (await screenshot(catalog, other, "Elsewhere")).status == 201
    r = await catalog.get(f"/products/{pid}/screenshots")
    assert [s["caption"] for s in r.body["results"]] == ["Dashboard"] and r.body["total_entries"] == 1
    got = await catalog.get(f"/products/{pid}/screenshots/{sid}/medium")
    assert got.status == 200 and Image.open(io.BytesIO(got.body)).size == (200, 150)
    r = await catalog.patch(
        f"/products/{pid}/screenshots/{sid}", catalog.isv, {"screenshot": {"caption": "Home"}}
    )
    assert r.status == 200 and r.body["caption"] == "Home", r
    # A screenshot is only reachable under its own product.
    assert (await catalog.get(f"/products/{other}/screenshots/{sid}")).status == 404
    r = await catalog.delete(f"/products/{pid}/screenshots/{sid}", catalog.isv)
    assert r.status == 200 and r.body["id"] == sid
    assert (await catalog.get(f"/products/{pid}/screenshots/{sid}")).status == 404


async def test_screenshot_caption_required_and_unique(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    r = await catalog.post(f"/products/{pid}/screenshots", catalog.isv, data=form(image=image()))
    assert r.status == 422 and "caption" in r.errors, r
    r = await catalog.post(f"/products/{pid}/screenshots", catalog.isv, data=form(caption="No image"))
    assert r.status == 422 and "image" in r.errors, r
    assert (await screenshot(catalog, pid, "Main")).status == 201
    r = await screenshot(catalog, pid, "Main")
    assert r.status == 422 and r.errors == {"caption": ["has already been taken"]}
    second = await screenshot(catalog, pid, "Second")
    r = await catalog.put(
        f"/products/{pid}/screenshots/{second.body['id']}", catalog.isv, {"caption": "Main"}
    )
    assert r.status == 422 and "caption" in r.errors


async def test_screenshot_visibility_and_rights(catalog) -> None:
    draft = await product(catalog, catalog.isv.user_id, listed=False)
    assert (await screenshot(catalog, draft, "Draft view")).status == 201
    assert (await catalog.get(f"/products/{draft}/screenshots")).status == 404
    assert (await catalog.get(f"/products/{draft}/screenshots", catalog.operator)).body["total_entries"] == 1
    r = await catalog.post(f"/products/{draft}/screenshots", None, data=form(caption="x", image=b"junk"))
    assert r.status == 401


async def test_images_go_with_the_product(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    await put_logo(catalog, pid, catalog.isv, image())
    await screenshot(catalog, pid, "One")
    db = await catalog.db()
    assert await db.fetchval("SELECT count(*) FROM images WHERE product_id = $1", pid) == 2
    await db.execute("DELETE FROM products WHERE id = $1", pid)
    assert await db.fetchval("SELECT count(*) FROM images WHERE product_id = $1", pid) == 0


# --- issue 9: rights before the body, decoding off the loop, binary Accept ----------------


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each call of the image decoder: its field, and whether it ran on the event loop's thread."""
    calls: list[tuple[str, bool]] = []
    real = images.variants

    def recording(data: bytes, max_pixels: int, field: str = "image") -> images.Variants:
        calls.append((field, threading.current_thread() is threading.main_thread()))
        return real(data, max_pixels, field)

    monkeypatch.setattr(images, "variants", recording)
    return calls


async def test_images_are_not_decoded_before_the_permission_check(
    catalog, decodes: list[tuple[str, bool]]
) -> None:
    listed = await product(catalog, catalog.isv.user_id)
    draft = await product(catalog, catalog.isv.user_id, listed=False)
    shot = (await screenshot(catalog, listed, "Existing")).body["id"]
    decodes.clear()
    # No right to change it: 403 (a seen product) or 404 (an unseen one), whatever the body.
    for pid, status in ((listed, 403), (draft, 404)):
        assert (await put_logo(catalog, pid, catalog.other_isv, bomb())).status == status
        r = await put_logo(catalog, pid, catalog.other_isv, b"\0" * (4 * 1024 * 1024 + 1))
        assert r.status == status, r  # not 413: the body is not even read
        data = form(**{"screenshot[caption]": "Bomb", "screenshot[image]": bomb()})
        r = await catalog.post(f"/products/{pid}/screenshots", catalog.other_isv, data=data)
        assert r.status == status, r
    data = form(**{"screenshot[image]": bomb()})
    r = await catalog.patch(f"/products/{listed}/screenshots/{shot}", catalog.other_isv, data=data)
    assert r.status == 403, r
    assert decodes == []
    # With the right, the same bomb reaches the decoder (in a thread) and is refused by its pixel limit.
    r = await put_logo(catalog, listed, catalog.isv, bomb())
    assert r.status == 422 and "logo" in r.errors, r
    assert decodes == [("logo", False)]  # once, off the event loop
    assert (await catalog.get(f"/products/{listed}/logos")).body["results"] == []


async def test_binary_endpoints_answer_an_image_accept_header(catalog) -> None:
    pid = await product(catalog, catalog.isv.user_id)
    placeholder = await catalog.get(f"/products/{pid}/logo/small", headers={"Accept": "image/png"})
    assert placeholder.status == 200 and placeholder.content_type == "image/png", placeholder
    await put_logo(catalog, pid, catalog.isv, image("PNG", (300, 300), mode="RGBA"))
    sid = (await screenshot(catalog, pid, "Accept")).body["id"]
    for path in (f"/products/{pid}/logo/medium", f"/products/{pid}/screenshots/{sid}/large"):
        for accept in ("image/png", "image/*", "image/png,image/jpeg;q=0.9", "*/*"):
            r = await catalog.get(path, headers={"Accept": accept})
            assert r.status == 200 and r.content_type.startswith("image/"), (path, accept, r)
            assert Image.open(io.BytesIO(r.raw)).size[0] > 0
