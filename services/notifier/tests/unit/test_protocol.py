"""Frame parsing: every bad frame is a coded ProtocolError; keys and checksums agree with the client."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519 as crypto

from hspm.client import agent
from hspm.notifier.credentials import ed25519
from hspm.notifier.instances import envelope
from hspm.notifier.sockets import protocol
from hspm.notifier.sockets.protocol import ProtocolError


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "malformed"),
        ("{", "malformed"),
        ("42", "malformed"),
        ('{"no": "type"}', "unknown_type"),
        ('{"type": "ack", "seq": -1}', "invalid"),
        ('{"type": "ack", "seq": 1.5}', "invalid"),
        ('{"type": "subscribe", "platform_id": "x"}', "invalid"),
        (json.dumps({"type": "hello", "protocol": 1, "platform_id": str(uuid4()), "pad": 1}), "invalid"),
        (json.dumps({"type": "ping", "ref": "x" * 101}), "invalid"),
        (json.dumps({"type": "ping", "pad": "x" * 2000}), "too_large"),
        (json.dumps({"type": "ping", "traceparent": "00-abc-def-01"}), "invalid"),
        (json.dumps({"type": "recall_ack", "recall_id": str(uuid4()), "traceparent": "x" * 60}), "invalid"),
    ],
)
def test_bad_frames(text: str, code: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        protocol.parse(text, 1024)
    assert refused.value.code == code


def test_good_frames() -> None:
    pid = uuid4()
    assert protocol.parse(json.dumps({"type": "subscribe", "platform_id": str(pid)}), 1024).platform_id == pid
    report = protocol.parse(json.dumps({"type": "report", "instance_id": str(pid), "errors": ["x"]}), 1024)
    assert report.errors == ["x"] and report.launch_bindings is None
    traced = {"type": "report", "instance_id": str(pid), "traceparent": TRACEPARENT}
    assert protocol.parse(json.dumps(traced), 1024).traceparent == TRACEPARENT


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_client_signature_verifies_only_for_its_platform_and_nonce() -> None:
    key = crypto.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = ed25519.parse_public_key(pem.decode())
    signature = agent.sign_challenge(key, "p1", "n1")
    assert ed25519.verify(raw, signature, ed25519.challenge_message("p1", "n1"))
    assert not ed25519.verify(raw, signature, ed25519.challenge_message("p2", "n1"))
    assert not ed25519.verify(raw, signature, ed25519.challenge_message("p1", "n2"))
    assert not ed25519.verify(raw, "not base64!", ed25519.challenge_message("p1", "n1"))


def test_the_client_computes_the_servers_checksum() -> None:
    rows = [
        {"id": "b", "build_id": "x", "image": "r/i@sha256:1", "desired_state": "running"},
        {"id": "a", "build_id": "y", "image": "r/j@sha256:2", "desired_state": "stopped"},
    ]
    assert envelope.checksum(rows) == agent.checksum(list(reversed(rows)))
    assert envelope.checksum(rows) != envelope.checksum(rows[:1])
