"""Load the notifier's database for its benchmark with COPY: 10,000 platforms and their agents.

- one listed product with an approved, published build;
- ``platforms`` platforms, each with its stream (a fresh epoch, as ``open_stream`` makes)
  and one registered Ed25519 agent key (as ``POST /platforms/{id}/keys`` stores it);
- the first ``fanout`` platforms run an instance of that build, so a build published for
  the product is told to exactly those platforms (``notices.service.build_published``).

The rows are the ones the notifier's own functions write; COPY only makes 30,000 of them
take a second rather than a minute. The private keys stay in memory for the agents.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519 as crypto_ed25519

from hspm.common import db
from hspm.notifier.credentials import ed25519
from hspm.notifier.stream import service as stream

REGISTRY, REPOSITORY, DIGEST = "registry.bench", "isv/bench-app", "sha256:" + "be" * 32


@dataclass(frozen=True)
class Credential:
    """What one platform's agent holds: its platform, its key's id and the private key."""

    platform_id: uuid.UUID
    key_id: uuid.UUID
    key: crypto_ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class Dataset:
    agents: list[Credential]
    # Run by the first ``fanout`` platforms of ``agents``.
    product_id: uuid.UUID
    fanout: int


def _raw(key: crypto_ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


async def load(conn: db.Conn, platforms: int = 10_000, fanout: int = 1_000) -> Dataset:
    """Insert the dataset into a migrated, otherwise unused notifier database."""
    if fanout > platforms:
        raise ValueError("the fan-out platforms are among the platforms")
    product_id, build_id = uuid.uuid4(), uuid.uuid4()
    listed = datetime.now(UTC) - timedelta(days=1)
    agents = [
        Credential(uuid.uuid4(), uuid.uuid4(), crypto_ed25519.Ed25519PrivateKey.generate())
        for _ in range(platforms)
    ]
    image = f"{REGISTRY}/{REPOSITORY}@{DIGEST}"
    async with conn.transaction():
        await conn.copy_records_to_table(
            "products",
            records=[(product_id, uuid.uuid4(), True, listed)],
            columns=("id", "owner_id", "published", "visible_at"),
        )
        await conn.copy_records_to_table(
            "builds",
            records=[
                (build_id, product_id, "1.0.0", REGISTRY, REPOSITORY, "1.0.0", DIGEST, True, "published")
            ],
            columns=(
                "id", "product_id", "version", "registry", "repository", "tag", "image_digest", "published",
                "status",
            ),
        )  # fmt: skip
        await conn.copy_records_to_table(
            "platforms",
            records=[(a.platform_id, uuid.uuid4(), f"bench-{n}") for n, a in enumerate(agents)],
            columns=("id", "user_id", "name"),
        )
        await conn.copy_records_to_table(
            "streams",
            records=[(a.platform_id, stream.new_epoch()) for a in agents],
            columns=("platform_id", "epoch"),
        )
        keys = []
        for a in agents:
            raw = _raw(a.key)
            keys.append((a.key_id, a.platform_id, "bench agent", raw, ed25519.fingerprint(raw)))
        await conn.copy_records_to_table(
            "agent_keys", records=keys, columns=("id", "platform_id", "name", "public_key", "fingerprint")
        )
        await conn.copy_records_to_table(
            "instances",
            records=[(uuid.uuid4(), a.platform_id, build_id, product_id, image) for a in agents[:fanout]],
            columns=("id", "platform_id", "build_id", "product_id", "image"),
        )
    await conn.execute("ANALYZE")
    return Dataset(agents=agents, product_id=product_id, fanout=fanout)
