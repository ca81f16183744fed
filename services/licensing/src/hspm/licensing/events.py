"""Writing licensing's events to its outbox."""

from __future__ import annotations

from hspm.common import outbox

emit = outbox.Emitter("licensing")
