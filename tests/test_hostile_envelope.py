"""Hostile input for the envelope parser (helpers/envelope.py), property-based.

``test_envelope.py`` flips every header bit and covers named tamper cases; here hypothesis feeds
arbitrary bytes to ``read_header`` (with and without the magic, so parsing gets past it) and
random *combinations* of edits to whole envelopes. Promises: only ``EnvelopeError`` (or the KMS
refusal of a tampered data-key blob) escapes; a stream decrypt of a tampered envelope raises and
has written at most an authentic prefix of the original plaintext; a file decrypt writes nothing.
"""

from __future__ import annotations

import base64
import io
import os
import struct
import tempfile
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import assume, example, given
from hypothesis import strategies as st

from helpers import envelope
from helpers.envelope import MAGIC, EnvelopeError, Header
from helpers.errors import InvalidCiphertextError, KmsError
from helpers.results import DataKey, DecryptResult
from tests.test_hostile_wire import OUTCOMES, budget

CTX = {"purpose": "hostile"}
CHUNK = 48


class LocalKms:
    """A data-key provider with real AES-GCM under a fixed master key: refuses any altered blob."""

    def __init__(self) -> None:
        self.master = AESGCM(bytes(range(32)))

    def generate_data_key(self, key_id, key_spec="AES_256", number_of_bytes=None, encryption_context=None):  # type: ignore[no-untyped-def]
        key, nonce = os.urandom(32), os.urandom(12)
        sealed = self.master.encrypt(nonce, key, envelope.context_digest(encryption_context))
        return DataKey(key_id, "v1", base64.b64encode(nonce + sealed).decode(), key)

    def decrypt(self, blob, encryption_context=None, *, binary=False):  # type: ignore[no-untyped-def]
        try:
            raw = base64.b64decode(blob, validate=True)
            key = self.master.decrypt(raw[:12], raw[12:], envelope.context_digest(encryption_context))
        except (ValueError, InvalidTag):
            raise InvalidCiphertextError("InvalidParameter", "the data-key blob failed authentication") from None
        return DecryptResult("k", "v1", key, "")


KMS = LocalKms()


def seal(data: bytes, chunk_size: int = CHUNK) -> bytes:
    out = io.BytesIO()
    envelope.encrypt_stream(io.BytesIO(data), out, "alias/x", encryption_context=CTX, kms=KMS, chunk_size=chunk_size)
    return out.getvalue()


@budget(400)
@given(data=st.binary(max_size=400))
@example(data=MAGIC)
@example(data=MAGIC + b"\x01" + b"\x00" * 60)
def test_hostile_read_header_random_bytes(data: bytes) -> None:
    for candidate in (data, MAGIC + data):
        try:
            header = envelope.read_header(io.BytesIO(candidate))
        except EnvelopeError as exc:
            OUTCOMES[("envelope header: random bytes", type(exc).__name__)] += 1
            continue
        # Accepted: then it is exactly what the bytes said, and no more than was there.
        assert isinstance(header, Header) and candidate.startswith(header.raw)
        assert 0 < header.chunk_size <= envelope.MAX_CHUNK_SIZE
        OUTCOMES[("envelope header: random bytes", "parsed (well-formed)")] += 1


@budget(200)
@given(version=st.one_of(st.just(envelope.VERSION), st.integers(0, 255)), chunk_size=st.integers(0, 2**32 - 1), blob_len=st.integers(0, 2**16 - 1),
       blob=st.binary(max_size=300))  # fmt: skip
def test_hostile_read_header_hostile_fields(version: int, chunk_size: int, blob_len: int, blob: bytes) -> None:
    """Well-formed framing, hostile field values: huge sizes must not allocate or read past the data."""
    raw = struct.pack(">8sBI7s32sH", MAGIC, version, chunk_size, b"n" * 7, b"d" * 32, blob_len) + blob
    try:
        header = envelope.read_header(io.BytesIO(raw))
    except EnvelopeError as exc:
        OUTCOMES[("envelope header: hostile field values", type(exc).__name__)] += 1
        return
    assert version == envelope.VERSION and 0 < chunk_size <= envelope.MAX_CHUNK_SIZE
    assert len(header.data_key_blob) == blob_len <= len(blob)
    OUTCOMES[("envelope header: hostile field values", "parsed (well-formed)")] += 1


EDITS = ("flip", "insert", "delete", "truncate", "append", "swap chunks", "repeat chunk", "drop chunk",
         "other envelope's header", "other envelope's chunk")  # fmt: skip


def edit(blob: bytes, other: bytes, op: str, pos: int, value: int) -> bytes:
    header = envelope.read_header(io.BytesIO(blob)).size
    size = CHUNK + envelope.TAG_SIZE
    chunks = [blob[i : i + size] for i in range(header, len(blob), size)]
    pos %= max(len(blob), 1)
    if op == "flip":
        return blob[:pos] + bytes([blob[pos] ^ (value or 1)]) + blob[pos + 1 :]
    if op == "insert":
        return blob[:pos] + bytes([value]) + blob[pos:]
    if op == "delete":
        return blob[:pos] + blob[pos + 1 :]
    if op == "truncate":
        return blob[:pos]
    if op == "append":
        return blob + bytes([value]) * (1 + value % 70)
    if op == "other envelope's header":
        other_header = envelope.read_header(io.BytesIO(other)).size
        return other[:other_header] + blob[header:]
    if not chunks:  # an earlier edit removed every chunk: append one from the other envelope
        return blob + other[envelope.read_header(io.BytesIO(other)).size :][:size]
    i, j = pos % len(chunks), value % len(chunks)
    if op == "swap chunks":
        chunks[i], chunks[j] = chunks[j], chunks[i]
    elif op == "repeat chunk":
        chunks.insert(i, chunks[j])
    elif op == "drop chunk":
        del chunks[i]
    elif op == "other envelope's chunk":
        other_chunks = [other[k : k + size] for k in range(envelope.read_header(io.BytesIO(other)).size, len(other), size)]
        chunks[i] = other_chunks[j % len(other_chunks)]
    return blob[:header] + b"".join(chunks)


@budget(250)
@given(plaintext=st.binary(min_size=1, max_size=400),
       edits=st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3))  # fmt: skip
def test_hostile_tampered_envelope_never_yields_unauthentic_plaintext(plaintext: bytes, edits: list) -> None:  # type: ignore[type-arg]
    original = seal(plaintext)
    other = seal(plaintext)  # same plaintext, another data key: splicing must not pass either
    tampered = original
    for op, pos, value in edits:
        try:
            tampered = edit(tampered, other, op, pos, value)
        except EnvelopeError:
            break  # the header is already destroyed: the parser's job below
    assume(tampered not in (original, other))
    out = io.BytesIO()
    with pytest.raises((EnvelopeError, KmsError)) as info:
        envelope.decrypt_stream(io.BytesIO(tampered), out, encryption_context=CTX, kms=KMS)
    # What reached the stream before the error is an authentic prefix, never altered data.
    assert plaintext.startswith(out.getvalue())
    family = f"tampered envelope: {edits[0][0]}" if len(edits) == 1 else f"tampered envelope: {len(edits)} edits combined"
    OUTCOMES[(family, type(info.value).__name__)] += 1


@budget(40)
@given(plaintext=st.binary(min_size=1, max_size=300), op=st.sampled_from(EDITS), pos=st.integers(0, 10_000),
       value=st.integers(0, 255))  # fmt: skip
def test_hostile_tampered_envelope_file_writes_nothing(plaintext: bytes, op: str, pos: int, value: int) -> None:
    original = seal(plaintext)
    tampered = edit(original, seal(plaintext), op, pos, value)
    assume(tampered != original)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.cipher", Path(tmp) / "out.bin"
        src.write_bytes(tampered)
        with pytest.raises((EnvelopeError, KmsError)):
            envelope.decrypt_file(src, dst, encryption_context=CTX, kms=KMS)
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["in.cipher"]
    OUTCOMES[("tampered envelope file", "nothing written")] += 1


def test_hostile_envelope_baseline_round_trip() -> None:
    """The untouched envelope decrypts, so every refusal above is the tamper's doing."""
    data = os.urandom(5 * CHUNK + 7)
    out = io.BytesIO()
    envelope.decrypt_stream(io.BytesIO(seal(data)), out, encryption_context=CTX, kms=KMS)
    assert out.getvalue() == data


def _with_chunk_size(blob: bytes, chunk_size: int) -> bytes:
    """`blob` with its header's chunk-size field rewritten; everything else (Base64 blob too) intact."""
    return blob[:9] + struct.pack(">I", chunk_size) + blob[13:]


class SizeGuard:
    """Stands in for the buffer allocations of helpers.envelope: records every size asked for and
    refuses one over the bound, so a reader that trusts a hostile header fails here, before any RAM
    is taken, instead of allocating 4 GiB."""

    limit = envelope.MAX_CHUNK_SIZE + envelope.TAG_SIZE

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: list[int] = []
        real_pieces = envelope.pieces
        monkeypatch.setattr(envelope, "bytearray", self.bytearray, raising=False)  # shadows the builtin

        def pieces(src, size):  # type: ignore[no-untyped-def]
            self.check(size)
            return real_pieces(src, size)

        monkeypatch.setattr(envelope, "pieces", pieces)

    def check(self, size: int) -> None:
        self.sizes.append(size)
        if size > self.limit:
            raise AssertionError(f"helpers.envelope asked for a {size}-byte buffer from a hostile header")

    def bytearray(self, value=b""):  # type: ignore[no-untyped-def]
        if isinstance(value, int):
            self.check(value)
        return bytearray(value)


@pytest.mark.parametrize("chunk_size", [envelope.MAX_CHUNK_SIZE + 1, 2**31, 2**32 - 1])
def test_hostile_valid_header_with_huge_chunk_size_is_refused_before_any_allocation(monkeypatch, chunk_size):
    hostile = _with_chunk_size(seal(b"x" * 100), chunk_size)
    guard = SizeGuard(monkeypatch)
    with pytest.raises(envelope.IntegrityError, match=f"chunk size {chunk_size} out of range"):
        envelope.read_header(io.BytesIO(hostile))
    with pytest.raises(envelope.IntegrityError, match="out of range"):
        envelope.decrypt_stream(io.BytesIO(hostile), io.BytesIO(), encryption_context=CTX, kms=KMS)
    assert all(size <= 1 << 16 for size in guard.sizes), guard.sizes  # only the header was read


def test_hostile_chunk_size_bounds_are_exact(monkeypatch):
    blob = seal(b"x" * 100)
    assert envelope.read_header(io.BytesIO(_with_chunk_size(blob, envelope.MAX_CHUNK_SIZE))).chunk_size == envelope.MAX_CHUNK_SIZE
    assert envelope.read_header(io.BytesIO(_with_chunk_size(blob, 1))).chunk_size == 1
    for bad in (0, envelope.MAX_CHUNK_SIZE + 1):
        with pytest.raises(envelope.IntegrityError, match="out of range"):
            envelope.read_header(io.BytesIO(_with_chunk_size(blob, bad)))
    # the writer holds to the same bound: it never makes a header a reader would refuse
    for bad in (0, envelope.MAX_CHUNK_SIZE + 1):
        with pytest.raises(ValueError, match="chunk_size"):
            seal(b"x", chunk_size=bad)
    guard = SizeGuard(monkeypatch)
    assert len(seal(b"x", chunk_size=envelope.MAX_CHUNK_SIZE)) > 0
    assert max(guard.sizes) == envelope.MAX_CHUNK_SIZE + envelope.TAG_SIZE
