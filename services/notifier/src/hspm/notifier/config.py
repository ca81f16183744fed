"""Notifier settings, from HSPM_* environment variables."""

from __future__ import annotations

from pydantic import Field

from hspm.common.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "notifier"
    http_port: int = 8086
    database_url: str = "postgresql://postgres@127.0.0.1:5432/hspm_notifier"

    # How long a platform's stream keeps its events, and how many at most: an agent that
    # was away longer is told to resync from the full state instead.
    stream_retention_hours: float = Field(168.0, gt=0)
    stream_max_events: int = Field(100_000, ge=100)
    # How often the pruning runs (0: never; tests prune themselves).
    prune_seconds: float = Field(300.0, ge=0)

    # The WebSocket protocol's limits (docs/notifier-protocol.md).
    ws_max_frame_bytes: int = Field(65_536, ge=1024)
    ws_auth_timeout_seconds: float = Field(10.0, gt=0)
    ws_heartbeat_seconds: float = Field(20.0, gt=0)
    # Events sent and not yet acknowledged: sending pauses when this many are in flight.
    ws_window: int = Field(256, ge=1)
    # Frames waiting for the socket; a connection that fills it is told to resync.
    ws_queue_frames: int = Field(64, ge=4)
    # An agent this many events behind the head is told to resync rather than replayed.
    ws_max_lag: int = Field(10_000, ge=1)
    # The full desired state with its checksum is sent this often (0: only on request).
    ws_state_seconds: float = Field(300.0, ge=0)
    # A replica re-checks its agents' keys this often, beside the revocation wake-up.
    ws_key_check_seconds: float = Field(5.0, gt=0)
