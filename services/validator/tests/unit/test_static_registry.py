"""The registry client's pure parts: challenges, media types, index selection, manifest shape, layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hspm.validator.facts import Target
from hspm.validator.static import layout, manifests, responses
from hspm.validator.static.manifests import NotAnImage, RegistryError

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


def _entry(
    arch: str, os: str = "linux", digest: str = D1, media_type: str = manifests.OCI_MANIFEST
) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": digest,
        "size": 10,
        "platform": {"architecture": arch, "os": os},
    }


def test_bearer_challenge() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"'
    )
    assert responses.parse_challenge(['Basic realm="r"', header]) == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:x:pull",
    }
    assert responses.parse_challenge(["bearer realm=http://h/token, service=s"]) == {
        "realm": "http://h/token",
        "service": "s",
    }
    assert responses.parse_challenge(['Basic realm="registry"']) is None
    assert responses.parse_challenge(['Bearer service="no-realm"']) is None


def test_media_type_from_body_then_header_then_shape() -> None:
    assert (
        manifests.media_type_of({"mediaType": manifests.DOCKER_MANIFEST}, manifests.OCI_MANIFEST)
        == manifests.DOCKER_MANIFEST
    )
    assert manifests.media_type_of({}, manifests.OCI_MANIFEST + "; charset=utf-8") == manifests.OCI_MANIFEST
    assert manifests.media_type_of({"manifests": []}, "application/json") == manifests.OCI_INDEX
    assert manifests.media_type_of({"config": {}, "layers": []}, "") == manifests.OCI_MANIFEST


class TestPickEntry:
    def test_amd64_wins_and_every_platform_is_listed(self) -> None:
        index = {"manifests": [_entry("arm64", digest=D1), _entry("amd64", digest=D2)]}
        entry, platforms = manifests.pick_entry(index)
        assert entry["digest"] == D2 and platforms == ["linux/arm64", "linux/amd64"]

    def test_attestations_are_not_platforms(self) -> None:
        index = {"manifests": [_entry("amd64", digest=D1), _entry("unknown", "unknown", digest=D2)]}
        assert manifests.pick_entry(index)[1] == ["linux/amd64"]

    def test_without_amd64_the_first_linux_image(self) -> None:
        index = {
            "manifests": [
                _entry("amd64", "windows", D1),
                _entry("arm64", digest=D2),
                _entry("s390x", digest=D3),
            ]
        }
        entry, platforms = manifests.pick_entry(index)
        assert entry["digest"] == D2 and platforms == ["windows/amd64", "linux/arm64", "linux/s390x"]

    def test_variants(self) -> None:
        entry = _entry("amd64", digest=D2)
        entry["platform"]["variant"] = "v3"
        assert manifests.pick_entry({"manifests": [_entry("arm", digest=D1), entry]})[0]["digest"] == D2

    def test_nested_or_empty_indexes_are_not_one_image(self) -> None:
        with pytest.raises(NotAnImage, match="itself an index"):
            manifests.pick_entry({"manifests": [_entry("amd64", media_type=manifests.OCI_INDEX)]})
        with pytest.raises(NotAnImage, match="no image manifest"):
            manifests.pick_entry({"manifests": []})
        with pytest.raises(RegistryError, match="only sha256"):
            manifests.pick_entry({"manifests": [_entry("amd64", digest="sha512:" + "a" * 128)]})


def _manifest(
    config_type: str = manifests.OCI_CONFIG, layer_type: str = layout.OCI_LAYER["gzip"]
) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "config": {"mediaType": config_type, "digest": D1, "size": 2},
        "layers": [{"mediaType": layer_type, "digest": D2, "size": 3}],
    }


class TestImageManifest:
    def test_an_image(self) -> None:
        manifests.check_image_manifest(_manifest(), manifests.OCI_MANIFEST)
        manifests.check_image_manifest(
            _manifest(manifests.DOCKER_CONFIG, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
            manifests.DOCKER_MANIFEST,
        )

    def test_artifacts(self) -> None:
        with pytest.raises(NotAnImage, match="is not an image config"):
            manifests.check_image_manifest(
                _manifest("application/vnd.cncf.helm.config.v1+json"), manifests.OCI_MANIFEST
            )
        with pytest.raises(NotAnImage, match="not an image layer"):
            manifests.check_image_manifest(_manifest(layer_type="application/x-cql"), manifests.OCI_MANIFEST)
        with pytest.raises(NotAnImage, match="OCI artifact"):
            manifests.check_image_manifest(
                _manifest() | {"artifactType": "application/spdx+json"}, manifests.OCI_MANIFEST
            )

    def test_malformed(self) -> None:
        with pytest.raises(RegistryError, match="schemaVersion"):
            manifests.check_image_manifest(_manifest() | {"schemaVersion": 3}, manifests.OCI_MANIFEST)
        bad_size = _manifest()
        bad_size["layers"][0]["size"] = -1
        with pytest.raises(RegistryError, match="no valid size"):
            manifests.check_image_manifest(bad_size, manifests.OCI_MANIFEST)


def test_layout_uses_oci_types_over_the_same_blobs(tmp_path: Path) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    docker_layer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifests.DOCKER_MANIFEST,
        "config": {
            "mediaType": manifests.DOCKER_CONFIG,
            "digest": manifests.sha256(config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": docker_layer, "digest": D2, "size": 3},
            {"mediaType": docker_layer, "digest": D3, "size": 4},
        ],
    }
    resolved = manifests.Resolved(
        target=Target("r:5000", "http", "a/b", "1"),
        digest=D1,
        media_type=manifests.DOCKER_MANIFEST,
        manifest=manifest,
        config=json.loads(config),
        config_raw=config,
    )
    layout.write_layout(tmp_path, resolved, ["gzip", "none"])
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((tmp_path / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "img"}
    assert entry["platform"] == {"os": "linux", "architecture": "amd64"}
    written = (tmp_path / "blobs/sha256" / entry["digest"].removeprefix("sha256:")).read_bytes()
    assert manifests.sha256(written) == entry["digest"] and len(written) == entry["size"]
    oci = json.loads(written)
    assert oci["mediaType"] == manifests.OCI_MANIFEST
    assert oci["config"] == {
        "mediaType": manifests.OCI_CONFIG,
        "digest": manifests.sha256(config),
        "size": len(config),
    }
    assert [(la["mediaType"], la["digest"]) for la in oci["layers"]] == [
        ("application/vnd.oci.image.layer.v1.tar+gzip", D2),
        ("application/vnd.oci.image.layer.v1.tar", D3),
    ]
    assert (
        tmp_path / "blobs/sha256" / manifests.sha256(config).removeprefix("sha256:")
    ).read_bytes() == config


def test_a_manifest_nesting_past_the_recursion_limit_is_a_registry_error() -> None:
    # Issue 9 (hostile input): was a RecursionError, so the run ended as an "error".
    with pytest.raises(manifests.RegistryError, match="^the manifest nests too deeply to be read$"):
        manifests.document(b"[" * 200_000, "the manifest")
