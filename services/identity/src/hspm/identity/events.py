"""Writing identity's events to its outbox, stamped with this producer."""

from __future__ import annotations

from hspm.common import outbox

emit = outbox.Emitter("identity")
