"""Image references: normalization, hostile references refused, every contacted host checked."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from yarl import URL

from hspm.common.events.curation import ImageTarget, ValidationPolicy
from hspm.validator.static.reference import Guard, ReferenceRefused, address_problem, normalize

DIGEST = "sha256:" + "ab" * 32
LOCAL = ValidationPolicy(insecure_registries=["127.0.0.1:5000"], allowed_registries=["127.0.0.1:5000"])


def _target(registry: str | None, repository: str | None, tag: str | None = None, digest: str | None = None):
    return ImageTarget(registry=registry, repository=repository, tag=tag, digest=digest)


class TestNormalize:
    @pytest.mark.parametrize(
        ("registry", "repository", "tag", "digest", "expected", "scheme"),
        [
            (None, "nginx", None, None, "registry-1.docker.io/library/nginx:latest", "https"),
            (None, "docker.io/nginx", "1.27", None, "registry-1.docker.io/library/nginx:1.27", "https"),
            ("docker.io", "bitnami/redis", "7", None, "registry-1.docker.io/bitnami/redis:7", "https"),
            (
                "index.docker.io",
                "docker.io/library/nginx",
                None,
                None,
                "registry-1.docker.io/library/nginx:latest",
                "https",
            ),
            ("http://127.0.0.1:5000", "127.0.0.1:5000/demo/x", "1", None, "127.0.0.1:5000/demo/x:1", "http"),
            ("127.0.0.1:5000", "demo/x", "1", None, "127.0.0.1:5000/demo/x:1", "http"),
            ("https://ghcr.io/", "owner/app", None, DIGEST, f"ghcr.io/owner/app@{DIGEST}", "https"),
            ("ghcr.io", "owner/app", "v1", DIGEST, f"ghcr.io/owner/app@{DIGEST}", "https"),
            ("https://registry.example.com/v2/", "a/b", "x", None, "registry.example.com/a/b:x", "https"),
            (
                "REGISTRY.Example.com:8443",
                "team/app",
                None,
                None,
                "registry.example.com:8443/team/app:latest",
                "https",
            ),
            (None, "localhost:5000/x", None, None, "localhost:5000/x:latest", "https"),
            (None, "quay.io/org/app:2.0", None, None, "quay.io/org/app:2.0", "https"),
            (None, f"quay.io/org/app@{DIGEST}", None, None, f"quay.io/org/app@{DIGEST}", "https"),
            ("[::1]:5000", "x/y", None, None, "[::1]:5000/x/y:latest", "https"),
            ("", "a__b/c-d.e", None, None, "registry-1.docker.io/a__b/c-d.e:latest", "https"),
        ],
    )
    def test_table(self, registry, repository, tag, digest, expected, scheme) -> None:
        target = normalize(_target(registry, repository, tag, digest), LOCAL)
        assert (str(target), target.scheme) == (expected, scheme)

    def test_a_urls_own_http_scheme_is_not_enough(self) -> None:
        target = normalize(_target("http://registry.example.com:5000", "a/b"), LOCAL)
        assert target.scheme == "https"
        assert target.base_url == "https://registry.example.com:5000"

    def test_insecure_entries_may_be_written_as_urls_or_bare_hosts(self) -> None:
        for entry in ("http://10.0.0.5:5000", "10.0.0.5", "10.0.0.5:5000"):
            target = normalize(_target("10.0.0.5:5000", "a"), ValidationPolicy(insecure_registries=[entry]))
            assert target.scheme == "http", entry
        other_port = ValidationPolicy(insecure_registries=["10.0.0.5:6000"])
        assert normalize(_target("10.0.0.5:5000", "a"), other_port).scheme == "https"


class TestRefused:
    @pytest.mark.parametrize(
        ("registry", "repository", "tag", "digest", "reason"),
        [
            (None, None, None, None, "no image repository"),
            ("ghcr.io", "  ", None, None, "no image repository"),
            (None, "demo/Bad", None, None, "not an OCI name"),
            (None, "a//b", None, None, "not an OCI name"),
            (None, "a/b/", None, None, "not an OCI name"),
            (None, "-a", None, None, "not an OCI name"),
            (None, "a..b", None, None, "not an OCI name"),
            (None, "a b", None, None, "not an OCI name"),
            (None, "a", "bad tag", None, "tag"),
            (None, "a", ".hidden", None, "tag"),
            (None, "a", "x" * 129, None, "tag"),
            (None, "a", None, "sha256:abc", "not sha256"),
            (None, "a", None, "sha512:" + "a" * 128, "not sha256"),
            ("user@ghcr.io", "a", None, None, "credentials"),
            ("ftp://ghcr.io", "a", None, None, "not http(s)"),
            ("https://ghcr.io/some/path", "a", None, None, "has a path"),
            ("https://ghcr.io/?x=1", "a", None, None, "has a path"),
            ("ghcr.io/owner", "a", None, None, "not host[:port] or a URL"),
            ("ghcr.io:99999", "a", None, None, "invalid port"),
            ("ghcr.io:0", "a", None, None, "invalid port"),
            ("ghcr.io:http", "a", None, None, "invalid port"),
            ("bad_host", "a", None, None, "not a valid host"),
            ("[::1", "a", None, None, "IPv6"),
            ("[fe80::1%eth0]", "a", None, None, "IPv6"),
            ("ghcr.io", "quay.io/x/y", None, None, "is on registry quay.io"),
            (None, "ghcr.io/x:1", "2", None, "tag"),
            (None, "a/" + "b" * 260, None, None, "longer than 255"),
        ],
    )
    def test_table(self, registry, repository, tag, digest, reason) -> None:
        with pytest.raises(
            ReferenceRefused, match=reason.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
        ):
            normalize(_target(registry, repository, tag, digest), LOCAL)

    @pytest.mark.parametrize(
        ("registry", "repository"),
        [("https://deploy:s3cr3t-pw@ghcr.io", "a"), (None, "https://deploy:s3cr3t-pw@ghcr.io/a")],
    )
    def test_credentials_in_a_url_are_not_echoed(self, registry: str | None, repository: str) -> None:
        with pytest.raises(ReferenceRefused) as refused:
            normalize(_target(registry, repository), LOCAL)
        assert "s3cr3t-pw" not in str(refused.value)


class TestAddressProblem:
    @pytest.mark.parametrize(
        ("address", "problem"),
        [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "reserved"),
            ("100.64.0.1", "not globally routable"),
            ("192.0.2.10", "private"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "private"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::7f00:1", "reserved"),  # IPv4-compatible 127.0.0.1
            ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
            ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("2606:4700:4700::1111", None),
            ("::ffff:8.8.8.8", None),
            ("2002:808:808::", None),
        ],
    )
    def test_table(self, address: str, problem: str | None) -> None:
        found = address_problem(ipaddress.ip_address(address))
        if problem is None:
            assert found is None
        else:
            assert found is not None and problem in found


def _resolver(table: dict[str, list[str]], calls: list[str] | None = None):
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


class TestGuard:
    async def test_loopback_literal_is_refused_unless_allow_listed(self) -> None:
        policy = ValidationPolicy(insecure_registries=["127.0.0.1:5000"])
        with pytest.raises(ReferenceRefused, match="loopback"):
            await Guard(policy, 1).check(URL("http://127.0.0.1:5000/v2/"))
        allowed = ValidationPolicy(
            insecure_registries=["127.0.0.1:5000"], allowed_registries=["127.0.0.1:5000"]
        )
        pinned = await Guard(allowed, 1).check(URL("http://127.0.0.1:5000/v2/"))
        assert pinned.url == URL("http://127.0.0.1:5000/v2/") and pinned.host_header is None

    async def test_mapped_ipv6_literal_is_refused(self) -> None:
        with pytest.raises(ReferenceRefused, match="loopback"):
            await Guard(ValidationPolicy(), 1).check(URL("https://[::ffff:127.0.0.1]:5000/v2/"))

    async def test_name_resolving_to_a_private_address_is_refused(self) -> None:
        guard = Guard(ValidationPolicy(), 1, _resolver({"evil.example": ["10.0.0.5"]}))
        with pytest.raises(
            ReferenceRefused, match=r"evil.example \(resolves to 10.0.0.5\): 10.0.0.5 is private"
        ):
            await guard.check(URL("https://evil.example/v2/"))

    async def test_any_bad_address_among_several_refuses(self) -> None:
        guard = Guard(ValidationPolicy(), 1, _resolver({"mixed.example": ["93.184.216.34", "::1"]}))
        with pytest.raises(ReferenceRefused, match="loopback"):
            await guard.check(URL("https://mixed.example/v2/"))

    async def test_a_public_name_is_pinned_to_the_checked_address(self) -> None:
        calls: list[str] = []
        guard = Guard(ValidationPolicy(), 1, _resolver({"registry.example": ["93.184.216.34"]}, calls))
        pinned = await guard.check(URL("https://registry.example:8443/v2/x/manifests/1"))
        assert pinned.url == URL("https://93.184.216.34:8443/v2/x/manifests/1")
        assert pinned.host_header == "registry.example:8443"
        assert pinned.server_hostname == "registry.example"
        again = await guard.check(URL("https://registry.example:8443/v2/x/blobs/y"))
        assert again.url.host == "93.184.216.34" and calls == ["registry.example"]

    async def test_ipv6_pin_is_bracketed(self) -> None:
        guard = Guard(ValidationPolicy(), 1, _resolver({"v6.example": ["2606:4700:4700::1111"]}))
        pinned = await guard.check(URL("https://v6.example/v2/"))
        assert str(pinned.url) == "https://[2606:4700:4700::1111]/v2/"

    async def test_plain_http_needs_the_insecure_list(self) -> None:
        guard = Guard(ValidationPolicy(), 1, _resolver({"storage.example": ["93.184.216.34"]}))
        with pytest.raises(ReferenceRefused, match="plain http"):
            await guard.check(URL("http://storage.example/blob"))

    async def test_userinfo_is_refused(self) -> None:
        with pytest.raises(ReferenceRefused, match="credentials"):
            await Guard(ValidationPolicy(), 1).check(URL("https://u:p@registry.example/v2/"))

    async def test_unresolvable_host(self) -> None:
        with pytest.raises(ReferenceRefused, match="does not resolve"):
            await Guard(ValidationPolicy(), 1, _resolver({})).check(URL("https://nowhere.example/v2/"))

    async def test_cidr_entries_allow_addresses_but_still_pin(self) -> None:
        policy = ValidationPolicy(allowed_registries=["10.20.0.0/16"])
        guard = Guard(
            policy, 1, _resolver({"internal.example": ["10.20.1.2"], "other.example": ["10.30.1.2"]})
        )
        pinned = await guard.check(URL("https://internal.example/v2/"))
        assert pinned.url.host == "10.20.1.2"
        with pytest.raises(ReferenceRefused, match="private"):
            await guard.check(URL("https://other.example/v2/"))

    async def test_the_system_resolver_is_used_by_default(self) -> None:
        # localhost resolves from /etc/hosts: no network needed.
        with pytest.raises(ReferenceRefused, match="loopback"):
            await Guard(ValidationPolicy(), 2).check(URL("https://localhost:5000/v2/"))
