"""Writing curation's events to its outbox."""

from __future__ import annotations

from hspm.common import outbox

emit = outbox.Emitter("curation")
