"""Permission rules more than one area applies: who is calling, and who may see a user.

``users`` guards a user's record with them, ``tokens`` a user's API tokens.
"""

from __future__ import annotations

from uuid import UUID

from hspm.common.auth import Principal
from hspm.common.errors import Unauthorized


def signed_in(p: Principal) -> None:
    """Anonymous callers are told to sign in; the answer does not depend on the id asked for."""
    if p.is_anonymous:
        raise Unauthorized("You are not authorized, sorry! Sign in first.")


def may_read_user(p: Principal, user_id: UUID) -> bool:
    """Users read themselves; reading anyone else takes ``users.read``."""
    return p.owns(user_id) or p.can("users", "read")
