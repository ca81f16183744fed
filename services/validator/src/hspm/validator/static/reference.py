"""Image references: normalize what the catalog recorded into a Target; refuse hostile ones.

Every host the validator contacts (the registry, its token realm, blob redirects) goes
through :class:`Guard`: the name is resolved once, every address is checked against the
non-public ranges, and the request is then sent to that checked address (the name travels
only in ``Host`` and TLS SNI), so a second DNS answer cannot point the connection elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from yarl import URL

from hspm.common.events.curation import ImageTarget, ValidationPolicy
from hspm.validator import regex
from hspm.validator.facts import Target

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

DOCKER_HUB = "registry-1.docker.io"
# Names people write for Docker Hub; all of them are pulled from registry-1.
HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
DEFAULT_TAG = "latest"
MAX_NAME = 255

# distribution/reference: path components are lower-case alphanumerics joined by one
# separator ("." "_" "__" or a run of "-"); a tag is a word of at most 128 characters.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = regex.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = regex.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_TAG = regex.compile(r"\w[\w.-]{0,127}")
_DIGEST = regex.compile(r"sha256:[0-9a-f]{64}")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class ReferenceRefused(Exception):
    """The reference is malformed, or names a host the policy does not let the validator reach."""


@dataclass(frozen=True)
class HostPort:
    """A registry host as written: a lower-case name or an IP literal, and an optional port."""

    host: str
    port: int | None = None

    @property
    def is_ip(self) -> bool:
        return _ip(self.host) is not None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host


@dataclass(frozen=True)
class Pinned:
    """Where a request really goes: ``url`` with the checked address, and the name it is for."""

    url: URL
    host_header: str | None = None  # the original host[:port], when ``url`` carries an address
    server_hostname: str | None = None  # TLS SNI and certificate name, when pinned over https


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None


def _shown(text: str) -> str:
    """User input echoed in a reason: short, and printable only."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return repr(clean if len(clean) <= 80 else clean[:77] + "...")


def parse_host(text: str) -> HostPort:
    """``name[:port]``, ``[v6][:port]`` or a bare IPv6 address; anything else is refused."""
    if text.startswith("["):
        inside, sep, rest = text[1:].partition("]")
        address = _ip(inside)
        valid = sep and isinstance(address, ipaddress.IPv6Address) and "%" not in inside
        if not valid or (rest and not rest.startswith(":")):
            raise ReferenceRefused(f"registry host {_shown(text)} is not a valid [IPv6][:port]")
        return HostPort(str(address), _port(rest[1:], text) if rest else None)
    if text.count(":") > 1:
        address = _ip(text)
        if not isinstance(address, ipaddress.IPv6Address) or "%" in text:
            raise ReferenceRefused(f"registry host {_shown(text)} is not a valid host[:port]")
        return HostPort(str(address))
    name, colon, port = text.partition(":")
    if not _HOSTNAME.fullmatch(name) or len(name) > 253:
        raise ReferenceRefused(f"registry host {_shown(text)} is not a valid host[:port]")
    return HostPort(name.lower(), _port(port, text) if colon else None)


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ReferenceRefused(f"registry {_shown(whole)} has an invalid port")
    return int(text)


def parse_registry(text: str) -> tuple[str | None, HostPort]:
    """A registry as ``host[:port]`` or a URL; returns (the URL's scheme or None, the host)."""
    text = text.strip()
    if "://" not in text:
        if "@" in text:
            raise ReferenceRefused("the registry carries credentials (user@host); they are not accepted")
        if "/" in text:
            raise ReferenceRefused(f"registry {_shown(text)} is not host[:port] or a URL")
        return None, parse_host(text)
    try:
        url = URL(text)
    except ValueError as exc:
        raise ReferenceRefused(f"registry URL {_shown(text)} does not parse") from exc
    if url.user is not None or url.password is not None:
        # Never echo it: the text holds a password.
        raise ReferenceRefused("the registry URL carries credentials (user:password@); they are not accepted")
    if url.scheme not in ("http", "https"):
        raise ReferenceRefused(f"registry URL {_shown(text)} is not http(s)")
    if url.path not in ("", "/", "/v2", "/v2/") or url.query_string or url.fragment:
        raise ReferenceRefused(f"registry URL {_shown(text)} has a path; give only scheme://host[:port]")
    authority = url.raw_authority
    return url.scheme, parse_host(authority)


def _hub(host: HostPort) -> HostPort:
    return HostPort(DOCKER_HUB, host.port) if host.host in HUB_ALIASES else host


def _split_domain(name: str) -> tuple[HostPort | None, str]:
    """The first component is a registry only if it looks like one (docker's rule)."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return parse_host(first), rest
    return None, name


def split_name(text: str) -> tuple[HostPort | None, str, str | None, str | None]:
    """``[host/]path[:tag][@digest]`` into its parts; the path is checked against the grammar."""
    if "://" in text:
        # Not echoed: a URL pasted here may carry credentials.
        raise ReferenceRefused("the repository is a URL; give the registry and the repository path apart")
    rest, at, digest = text.partition("@")
    head, colon, tag = rest.rpartition(":")
    name, tag_or_none = (head, tag) if colon and "/" not in tag else (rest, None)
    domain, path = _split_domain(name)
    if not _PATH.fullmatch(path):
        raise ReferenceRefused(
            f"repository {_shown(text)} is not an OCI name (lower-case components joined by '/', "
            "each of a-z 0-9 with single '.', '_', '__' or '-' runs between)"
        )
    return domain, path, tag_or_none, digest if at else None


def _check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise ReferenceRefused(
            f"tag {_shown(tag)} is invalid (letters, digits, _ . -; at most 128; not starting with . or -)"
        )
    return tag


def _check_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise ReferenceRefused(f"digest {_shown(digest)} is not sha256:<64 lower-case hex digits>")
    return digest


def _agree(what: str, a: str | None, b: str | None) -> str | None:
    if a is not None and b is not None and a != b:
        raise ReferenceRefused(f"the repository names {what} {_shown(b)} but the build records {_shown(a)}")
    return a if a is not None else b


def normalize(image: ImageTarget, policy: ValidationPolicy) -> Target:
    """The Target to pull, or :class:`ReferenceRefused` saying what is wrong with the reference."""
    if not image.repository or not image.repository.strip():
        raise ReferenceRefused("the build names no image repository")
    given = parse_registry(image.registry)[1] if image.registry and image.registry.strip() else None
    domain, path, tag, digest = split_name(image.repository.strip())
    if given is not None and domain is not None and _hub(domain) != _hub(given):
        raise ReferenceRefused(f"the repository is on registry {domain} but the build names registry {given}")
    host = _hub(given or domain or HostPort("docker.io"))
    if host.host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if len(path) > MAX_NAME:
        raise ReferenceRefused(f"the repository name is longer than {MAX_NAME} characters")
    tag = _agree("tag", _strip(image.tag), tag)
    digest = _agree("digest", _strip(image.digest), digest)
    if digest is not None:
        reference = _check_digest(digest)
        if tag is not None:
            _check_tag(tag)
    else:
        reference = _check_tag(tag or DEFAULT_TAG)
    scheme = "http" if listed(host, policy.insecure_registries) else "https"
    return Target(registry=str(host), scheme=scheme, repository=path, reference=reference)


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def listed(host: HostPort, entries: Iterable[str]) -> bool:
    """Whether ``host`` is in an operator list: ``host`` (any port) or ``host:port`` entries."""
    host = _hub(host)
    for entry in entries:
        try:
            wanted = _hub(parse_registry(entry)[1])
        except ReferenceRefused:
            continue  # a CIDR or a typo: not a host entry
        if wanted.host == host.host and wanted.port in (None, host.port):
            return True
    return False


def allowed_networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The CIDR entries of ``allowed_registries`` (e.g. ``10.20.0.0/16``)."""
    networks = []
    for entry in entries:
        if "/" in entry and "://" not in entry:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                continue
    return networks


def address_problem(address: IPAddress) -> str | None:
    """Why a registry may not live at ``address`` (None when it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address)
        if embedded is not None and (problem := address_problem(embedded)):
            return f"{problem} (embedded in {address})"
        if address.ipv4_mapped is not None:
            return None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{address} is {name}"
    return None


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def getaddrinfo(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (the loop runs it off-thread)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class Guard:
    """Checks each URL before the validator connects to it, and pins it to a checked address.

    One per run: resolutions are cached, so every request to a host goes to the same
    address that was checked.
    """

    def __init__(self, policy: ValidationPolicy, timeout: float, resolve: Resolver = getaddrinfo) -> None:
        self.policy = policy
        self.timeout = timeout
        self._resolve = resolve
        self._networks = allowed_networks(policy.allowed_registries)
        self._addresses: dict[tuple[str, int], str] = {}

    async def check(self, url: URL) -> Pinned:
        """The pinned request target for ``url``, or :class:`ReferenceRefused` with the reason."""
        if url.scheme not in ("http", "https") or not url.host:
            raise ReferenceRefused(f"{_shown(str(url.with_user(None)))} is not an http(s) URL")
        if url.user is not None or url.password is not None:
            raise ReferenceRefused("a URL carrying credentials (user:password@) is not followed")
        host = HostPort(url.host.lower(), url.explicit_port)
        if url.scheme == "http" and not listed(host, self.policy.insecure_registries):
            raise ReferenceRefused(
                f"plain http to {host} is refused: it is not an insecure registry by policy"
            )
        if listed(host, self.policy.allowed_registries):
            return Pinned(url)
        port = url.port or (443 if url.scheme == "https" else 80)
        literal = _ip(host.host)
        if literal is not None:
            self._refuse_if_bad(host, [literal])
            return Pinned(url)
        address = await self._checked_address(host, port)
        hostname = url.raw_host or host.host
        return Pinned(
            url.with_host(address),
            host_header=str(host),
            server_hostname=hostname if url.scheme == "https" else None,
        )

    async def _checked_address(self, host: HostPort, port: int) -> str:
        key = (host.host, port)
        if key not in self._addresses:
            try:
                async with asyncio.timeout(self.timeout):
                    found = await self._resolve(host.host, port)
            except (OSError, TimeoutError) as exc:
                raise ReferenceRefused(
                    f"registry host {host.host} does not resolve ({exc or 'timed out'})"
                ) from exc
            addresses = [a for a in (_ip(text) for text in found) if a is not None]
            if not addresses:
                raise ReferenceRefused(f"registry host {host.host} resolves to no address")
            self._refuse_if_bad(host, addresses)
            self._addresses[key] = str(addresses[0])
        return self._addresses[key]

    def _refuse_if_bad(self, host: HostPort, addresses: list[IPAddress]) -> None:
        for address in addresses:
            if any(_in_network(address, net) for net in self._networks):
                continue
            if problem := address_problem(address):
                shown = "" if host.is_ip else f" (resolves to {address})"
                raise ReferenceRefused(
                    f"registry {host}{shown}: {problem}; only allow-listed registries may use such addresses"
                )


def _in_network(address: IPAddress, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version == network.version and address in network
