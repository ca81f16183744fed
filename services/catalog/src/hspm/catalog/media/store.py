"""All SQL of logos and screenshots (rows of ``images``)."""

from __future__ import annotations

from uuid import UUID

from asyncpg import Record

from hspm.catalog.media.images import Variants
from hspm.common.db import Conn
from hspm.common.paging import PageParams

# Metadata only: the bytea columns are read one size at a time, when served.
COLS = "id, product_id, kind, caption, content_type, width, height, created_at, updated_at"
# Whitelist of the columns a size may name.
SIZE_COLUMNS = {"small": "small", "medium": "medium", "large": "large", "original": "original"}


async def get_logo(conn: Conn, product_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {COLS} FROM images WHERE product_id = $1 AND kind = 'logo'", product_id
    )


async def put_logo(conn: Conn, image_id: UUID, product_id: UUID, v: Variants) -> Record:
    """Insert or replace the product's one logo."""
    row = await conn.fetchrow(
        f"""INSERT INTO images (id, product_id, kind, content_type, width, height,
                                original, small, medium, large)
            VALUES ($1, $2, 'logo', $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (product_id) WHERE kind = 'logo' DO UPDATE SET
                content_type = EXCLUDED.content_type, width = EXCLUDED.width, height = EXCLUDED.height,
                original = EXCLUDED.original, small = EXCLUDED.small, medium = EXCLUDED.medium,
                large = EXCLUDED.large, updated_at = clock_timestamp()
            RETURNING {COLS}""",
        image_id,
        product_id,
        v.content_type,
        v.width,
        v.height,
        v.original,
        v.small,
        v.medium,
        v.large,
    )
    assert row is not None
    return row


async def delete_logo(conn: Conn, product_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"DELETE FROM images WHERE product_id = $1 AND kind = 'logo' RETURNING {COLS}", product_id
    )


async def image_bytes(conn: Conn, image_id: UUID, size: str) -> bytes | None:
    column = SIZE_COLUMNS[size]
    value: bytes | None = await conn.fetchval(f"SELECT {column} FROM images WHERE id = $1", image_id)
    return value


async def get_screenshot(conn: Conn, product_id: UUID, screenshot_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {COLS} FROM images WHERE id = $1 AND product_id = $2 AND kind = 'screenshot'",
        screenshot_id,
        product_id,
    )


async def list_screenshots(conn: Conn, product_id: UUID, page: PageParams) -> tuple[list[Record], int]:
    """This product's screenshots only (the RI listed every product's: a defect)."""
    total = await conn.fetchval(
        "SELECT count(*) FROM images WHERE product_id = $1 AND kind = 'screenshot'", product_id
    )
    rows = await conn.fetch(
        f"""SELECT {COLS} FROM images WHERE product_id = $1 AND kind = 'screenshot'
            ORDER BY "{page.sort}" {page.order}, id LIMIT $2 OFFSET $3""",
        product_id,
        page.per_page,
        page.offset,
    )
    return list(rows), int(total)


async def insert_screenshot(
    conn: Conn, image_id: UUID, product_id: UUID, caption: str, v: Variants
) -> Record:
    row = await conn.fetchrow(
        f"""INSERT INTO images (id, product_id, kind, caption, content_type, width, height,
                                original, small, medium, large)
            VALUES ($1, $2, 'screenshot', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLS}""",
        image_id,
        product_id,
        caption,
        v.content_type,
        v.width,
        v.height,
        v.original,
        v.small,
        v.medium,
        v.large,
    )
    assert row is not None
    return row


async def update_screenshot(
    conn: Conn, screenshot_id: UUID, caption: str | None, v: Variants | None
) -> Record | None:
    """Change the caption, the image or both; None when it is gone."""
    return await conn.fetchrow(
        f"""UPDATE images SET caption = coalesce($2, caption),
                content_type = coalesce($3, content_type), width = coalesce($4, width),
                height = coalesce($5, height), original = coalesce($6, original),
                small = coalesce($7, small), medium = coalesce($8, medium), large = coalesce($9, large),
                updated_at = clock_timestamp()
            WHERE id = $1 AND kind = 'screenshot' RETURNING {COLS}""",
        screenshot_id,
        caption,
        *(
            (v.content_type, v.width, v.height, v.original, v.small, v.medium, v.large)
            if v is not None
            else (None,) * 7
        ),
    )


async def delete_screenshot(conn: Conn, screenshot_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"DELETE FROM images WHERE id = $1 AND kind = 'screenshot' RETURNING {COLS}", screenshot_id
    )
