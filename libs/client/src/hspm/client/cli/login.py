"""``hspm login``, ``hspm logout`` and ``hspm whoami``.

``login`` is a device sign-in (RFC 8628's flow, identity's ``/device_authorizations``):
the command shows a short code and a page, a signed-in person approves the code in the
browser, and the command's polling receives that person's session. ``--with-token``
stores an API token read from stdin instead (never from an argument, which other users
could read in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from hspm.client.api import ApiError
from hspm.client.cli import credentials
from hspm.client.cli.common import Context, command
from hspm.client.cli.output import CliError, Exit, record

CLIENT_NAME = "hspm command line"
# RFC 8628 §3.5: each slow_down adds five seconds to the interval.
SLOW_DOWN_SECONDS = 5
MAX_TOKEN_CHARS = 8192
Sleep = Callable[[float], Awaitable[None]]


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = command(
        groups, "login", "sign in to the marketplace (device sign-in in the browser)", login_command
    )
    login.add_argument(
        "--no-browser", action="store_true", help="print the page to open instead of opening it"
    )
    login.add_argument("--with-token", action="store_true", help="read an API token from stdin and store it")
    command(groups, "logout", "sign out: revoke the stored session and forget it", logout_command)
    command(groups, "whoami", "who the marketplace takes you for", whoami_command)


def client_name() -> str:
    """What the approval page shows: this program and, to tell machines apart, the host."""
    return f"{CLIENT_NAME} on {socket.gethostname()}"[:100]


async def _whoami(ctx: Context, token: str) -> dict[str, Any]:
    """``/status`` as ``token``'s holder; a token that signs in no one is refused."""
    ctx.api.token = token
    status = await ctx.api.get("/status")
    if not isinstance(status, dict) or not status.get("user"):
        raise CliError("the marketplace does not know this token: check it and try again", Exit.AUTH)
    return status


def _store(ctx: Context, token: str, kind: str, status: dict[str, Any], expires_at: Any) -> None:
    user = status["user"]
    entry = {
        "token": token,
        "kind": kind,
        "expires_at": expires_at,
        "user": {"id": user["id"], "name": user["name"]},
    }
    where = credentials.save(ctx.url, entry, ctx.env)
    ctx.show(
        {"signed_in": True, "url": ctx.url, "user": entry["user"], "kind": kind, "expires_at": expires_at},
        lambda: f"Signed in to {ctx.url} as {user['name']} (credentials in {where}).\n",
    )


async def login_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.with_token:
        return await _with_token(ctx)
    ctx.api.token = None  # starting and polling a sign-in are anonymous
    start = await ctx.api.post("/device_authorizations", {"client_name": client_name()})
    _prompt(ctx, start, open_browser=not args.no_browser)
    session = await poll(ctx, start)
    status = await _whoami(ctx, session["jwt"])
    _store(ctx, session["jwt"], "session", status, session.get("expires_at"))
    return Exit.OK


async def _with_token(ctx: Context) -> int:
    """Store an API token read from stdin, once the marketplace has recognised it."""
    token = sys.stdin.read(MAX_TOKEN_CHARS + 1).strip()
    if not token or len(token) > MAX_TOKEN_CHARS or any(c.isspace() for c in token):
        raise CliError(
            "no token on stdin: pipe one in, e.g. `hspm login --with-token < token.txt`", Exit.USAGE
        )
    status = await _whoami(ctx, token)
    jwt = status.get("jwt") or {}
    _store(ctx, token, jwt.get("kind") or "api", status, jwt.get("expires_at"))
    return Exit.OK


def _prompt(ctx: Context, start: dict[str, Any], open_browser: bool) -> None:
    """Show the code and the page (on stderr: ``--json`` keeps stdout for the result)."""
    ctx.note(
        f"To sign in, open {start['verification_uri']} and enter the code {start['user_code']}\n"
        f"(or open {start['verification_uri_complete']}). Waiting for approval..."
    )
    if open_browser:
        try:
            webbrowser.open(start["verification_uri_complete"], new=2)
        except webbrowser.Error:
            ctx.note("Could not open a browser; open the page yourself.")


async def poll(ctx: Context, start: dict[str, Any], sleep: Sleep = asyncio.sleep) -> dict[str, Any]:
    """Poll at the given interval (longer after each slow_down) until approved or over."""
    interval = float(start.get("interval") or 5)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(start.get("expires_in") or 600)
    body = {"device_code": start["device_code"]}
    while loop.time() < deadline:
        await sleep(interval)
        status, answer = await ctx.api.send("POST", "/device_authorizations/token", body)
        if status == 200 and isinstance(answer, dict) and answer.get("jwt"):
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if status != 400 or error not in ("authorization_pending", "slow_down"):
            raise _refused(status, error, answer)
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
    raise CliError("the code expired before it was approved: run `hspm login` again", Exit.AUTH)


def _refused(status: int, error: str | None, answer: Any) -> Exception:
    if error == "access_denied":
        return CliError("the sign-in was denied in the browser", Exit.AUTH)
    if error == "expired_token":
        return CliError("the code expired or was already used: run `hspm login` again", Exit.AUTH)
    return ApiError(status, str(error or answer), body=answer)


async def logout_command(ctx: Context, args: argparse.Namespace) -> int:
    stored = credentials.find(ctx.url, ctx.env)
    if stored is None:
        if ctx.token_source == "HSPM_TOKEN":
            raise CliError("signed in through HSPM_TOKEN, not `hspm login`: unset HSPM_TOKEN", Exit.USAGE)
        raise CliError(f"not signed in to {ctx.url}: nothing to do", Exit.USAGE)
    ctx.api.token = stored["token"]
    revoked = True
    if stored.get("kind") == "session":
        # A session ends at the marketplace too; an API token stays (revoke it in the UI).
        status, _ = await ctx.api.send("DELETE", "/sessions")
        revoked = status in (200, 204, 401, 404)
    credentials.forget(ctx.url, ctx.env)
    ctx.show(
        {"signed_out": True, "url": ctx.url, "revoked": revoked and stored.get("kind") == "session"},
        lambda: f"Signed out of {ctx.url}.\n",
    )
    return Exit.OK


def _when(value: Any) -> str:
    return str(value) if value else "-"


async def whoami_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.need_token()
    assert ctx.token is not None
    status = await _whoami(ctx, ctx.token)
    user, jwt = status["user"], status.get("jwt") or {}
    doc = {
        "url": ctx.url,
        "user": {"id": user["id"], "name": user["name"]},
        "token": {"source": ctx.token_source, "kind": jwt.get("kind"), "expires_at": jwt.get("expires_at")},
        "checked_at": datetime.now(UTC).isoformat(),
    }
    human = {
        "name": user["name"],
        "id": user["id"],
        "marketplace": ctx.url,
        "token": f"{jwt.get('kind') or '?'} from {ctx.token_source}, expires {_when(jwt.get('expires_at'))}",
    }
    ctx.show(doc, lambda: record(human, ["name", "id", "marketplace", "token"]))
    return Exit.OK
