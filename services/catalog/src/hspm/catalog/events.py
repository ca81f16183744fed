"""Writing the catalog's events to its outbox, in the caller's transaction."""

from __future__ import annotations

from hspm.common import outbox

emit = outbox.Emitter("catalog")
