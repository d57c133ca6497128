"""helpers.envelope: round trips, the format's tamper evidence, wrong context/account, no partial output."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import resource
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
from helpers import envelope
from helpers.envelope import (
    MAGIC, TAG_SIZE, ContextMismatchError, EnvelopeError, IntegrityError, NotAnEnvelopeError,
    UnsupportedVersionError,
)  # fmt: skip
from helpers.errors import InvalidCiphertextError, KmsError
from helpers.kms import Kms
from helpers.results import DataKey, DecryptResult
from tests.fixtures_kms import emulator, key_id  # noqa: F401 (pytest fixtures)

CTX = {"purpose": "kms-workshop-test", "host": "web-1"}
CHUNK = 64  # small chunks make boundary and reorder cases cheap


@pytest.fixture
def kms(emulator) -> Iterator[Kms]:
    """Like fixtures_kms.kms, but closes the SDK's connection pool at teardown.

    Otherwise a client caught in a traceback cycle is collected together with its sockets, in
    no set order, and a socket finalised first raises ResourceWarning (an error in this suite).
    """
    with helpers.connect("emulator", endpoint=emulator.endpoint) as client:
        yield client


class FakeKms:
    """A local data-key provider (AES-GCM under a fixed master key) for fast property tests."""

    def __init__(self) -> None:
        self.master = envelope.AESGCM(bytes(range(32)))
        self.keys: list[bytes] = []

    def generate_data_key(self, key_id, key_spec="AES_256", number_of_bytes=None, encryption_context=None):
        key = os.urandom(32)
        self.keys.append(key)
        nonce = os.urandom(12)
        sealed = self.master.encrypt(nonce, base64.b64encode(key), envelope.context_digest(encryption_context))
        return DataKey(key_id, "v1", base64.b64encode(nonce + sealed).decode(), key)

    def decrypt(self, blob, encryption_context=None, *, binary=False):
        try:
            raw = base64.b64decode(blob, validate=True)
            text = self.master.decrypt(raw[:12], raw[12:], envelope.context_digest(encryption_context))
        except (ValueError, envelope.InvalidTag):
            raise InvalidCiphertextError("InvalidParameter", "bad blob") from None
        return DecryptResult("k", "v1", base64.b64decode(text), "")


def seal(data: bytes, provider, ctx=CTX, chunk_size=CHUNK, key="alias/kms-workshop-test") -> bytes:
    out = io.BytesIO()
    envelope.encrypt_stream(io.BytesIO(data), out, key, encryption_context=ctx, kms=provider, chunk_size=chunk_size)
    return out.getvalue()


def unseal(blob: bytes, provider, ctx=CTX) -> bytes:
    out = io.BytesIO()
    envelope.decrypt_stream(io.BytesIO(blob), out, encryption_context=ctx, kms=provider)
    return out.getvalue()


def split(blob: bytes, chunk_size: int = CHUNK) -> tuple[bytes, list[bytes]]:
    header = envelope.read_header(io.BytesIO(blob))
    body, size = blob[header.size :], chunk_size + TAG_SIZE
    return blob[: header.size], [body[i : i + size] for i in range(0, len(body), size)]


def assert_nothing_written(folder) -> None:
    assert [p.name for p in folder.iterdir() if p.name != "in.cipher"] == []


# --- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "size", [0, 1, 6144, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK - 1, 3 * CHUNK, 3 * CHUNK + 1]
)
def test_envelope_round_trip_sizes_and_chunk_boundaries(kms, key_id, size):
    data = os.urandom(size)
    blob = seal(data, kms, key=key_id)
    header, chunks = split(blob)
    assert blob.startswith(MAGIC)
    assert len(chunks) == max(1, -(-size // CHUNK))  # k*chunk gives k chunks, no empty extra one
    assert unseal(blob, kms) == data


def test_envelope_file_round_trip_default_chunk_boundaries(kms, key_id, tmp_path):
    chunk = envelope.DEFAULT_CHUNK_SIZE
    for size in (2 * chunk - 1, 2 * chunk, 2 * chunk + 1):
        src, enc, dec = tmp_path / f"{size}", tmp_path / f"{size}.cipher", tmp_path / f"{size}.out"
        src.write_bytes(os.urandom(size))
        envelope.encrypt_file(src, enc, key_id, encryption_context=CTX, kms=kms)
        envelope.decrypt_file(enc, dec, encryption_context=CTX, kms=kms)
        assert dec.read_bytes() == src.read_bytes()
        assert dec.stat().st_mode & 0o777 == 0o600


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), chunk_size=st.integers(1, 700))
def test_envelope_round_trip_property(data, chunk_size):
    provider = FakeKms()
    assert unseal(seal(data, provider, chunk_size=chunk_size), provider) == data


def _generated(total: int, piece: int = 1 << 20) -> Iterator[bytes]:
    block = os.urandom(piece)
    for i in range(total // piece):
        yield i.to_bytes(8, "big") + block[8:]  # each MiB differs, so reordering would show


class _HashSink:
    def __init__(self) -> None:
        self.sha, self.size = hashlib.sha256(), 0

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return len(data)


@pytest.mark.slow
def test_envelope_one_gib_streams_in_constant_memory():
    """1 GiB from a generator -> encrypt -> pipe -> decrypt -> hash: never more than a few chunks held.

    The local FakeKms stands in for KMS: this test is about streaming; KMS is covered above.
    """
    total, kms, key_id = 1 << 30, FakeKms(), "alias/kms-workshop-test"
    expected, got = hashlib.sha256(), _HashSink()
    rfd, wfd = os.pipe()
    failures: list[BaseException] = []

    def produce() -> None:
        def source() -> Iterator[bytes]:
            for piece in _generated(total):
                expected.update(piece)
                yield piece

        try:
            with open(wfd, "wb", buffering=0) as pipe_in:
                envelope.encrypt_stream(source(), pipe_in, key_id, encryption_context=CTX, kms=kms)
        except BaseException as exc:  # reported to the main thread below
            failures.append(exc)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    writer = threading.Thread(target=produce)
    writer.start()
    with open(rfd, "rb", buffering=0) as pipe_out:
        envelope.decrypt_stream(pipe_out, got, encryption_context=CTX, kms=kms)
    writer.join()
    elapsed = time.perf_counter() - start
    assert not failures
    assert got.size == total and got.sha.digest() == expected.digest()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mib < 64, f"peak RSS grew by {grown_mib:.0f} MiB"
    print(f"1 GiB round trip in {elapsed:.1f} s; peak RSS grew {grown_mib:.0f} MiB")


# --- tamper evidence: every case fails clearly and leaves no output ------------------------------
def _tampered(blob: bytes, case: str, other: bytes) -> bytes:
    head, chunks = split(blob)
    if case == "truncate-last-chunk":
        return head + b"".join(chunks[:-1])
    if case == "truncate-mid-chunk":
        return blob[:-10]
    if case == "truncate-in-header":
        return blob[: len(head) - 5]
    if case == "header-only":
        return head
    if case == "reorder-chunks":
        return head + chunks[1] + chunks[0] + b"".join(chunks[2:])
    if case == "duplicate-chunk":
        return head + chunks[0] + b"".join(chunks)
    if case == "append-chunk":
        return blob + chunks[0]
    if case == "append-byte":
        return blob + b"\x00"
    if case == "append-other-file-chunk":
        return blob + split(other)[1][-1]
    flip = {"flip-body": len(head) + 3, "flip-tag": len(head) + CHUNK + 2, "flip-last-tag": len(blob) - 1,
            "flip-nonce-prefix": 14, "flip-chunk-size": 12}  # fmt: skip
    if case in flip:
        pos = flip[case]
        return blob[:pos] + bytes([blob[pos] ^ 0x01]) + blob[pos + 1 :]
    if case == "swap-data-key-blob":
        other_head = split(other)[0]  # same key and context: KMS happily decrypts the other blob
        assert len(other_head) == len(head)
        return head[:54] + other_head[54:] + blob[len(head) :]
    raise AssertionError(case)


TAMPER = ["truncate-last-chunk", "truncate-mid-chunk", "truncate-in-header", "header-only",
          "reorder-chunks", "duplicate-chunk", "append-chunk", "append-byte", "append-other-file-chunk",
          "flip-body", "flip-tag", "flip-last-tag", "flip-nonce-prefix", "flip-chunk-size",
          "swap-data-key-blob"]  # fmt: skip


@pytest.mark.parametrize("case", TAMPER)
def test_envelope_tampered_file_fails_clearly_and_writes_nothing(kms, key_id, tmp_path, case):
    data = os.urandom(3 * CHUNK + 5)
    blob, other = seal(data, kms, key=key_id), seal(os.urandom(3 * CHUNK + 5), kms, key=key_id)
    (tmp_path / "in.cipher").write_bytes(_tampered(blob, case, other))
    with pytest.raises(IntegrityError) as err:
        envelope.decrypt_file(tmp_path / "in.cipher", tmp_path / "out", encryption_context=CTX, kms=kms)
    assert str(err.value)
    if case.startswith(("truncate-last", "header-only")):
        assert "truncated" in str(err.value)
    assert_nothing_written(tmp_path)


def test_envelope_diagnoses_a_chunk_appended_after_a_full_last_chunk(kms, key_id):
    blob = seal(os.urandom(2 * CHUNK), kms, key=key_id)
    with pytest.raises(IntegrityError, match="appended after the last chunk"):
        unseal(blob + split(blob)[1][0], kms)


def test_envelope_every_header_bit_flip_is_detected(tmp_path):
    provider = FakeKms()
    blob = seal(b"x" * (2 * CHUNK), provider)
    head_len = envelope.read_header(io.BytesIO(blob)).size
    for pos in range(head_len):
        for bit in (0x01, 0x80):
            bad = blob[:pos] + bytes([blob[pos] ^ bit]) + blob[pos + 1 :]
            with pytest.raises((EnvelopeError, KmsError)):
                envelope.decrypt_stream(io.BytesIO(bad), _HashSink(), encryption_context=CTX, kms=provider)


def test_envelope_header_errors_name_the_problem(kms, key_id):
    blob = bytearray(seal(b"hello", kms, key=key_id))
    with pytest.raises(NotAnEnvelopeError):
        unseal(b"QmFzZTY0" + bytes(blob[8:]), kms)
    blob[8] = 2
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        unseal(bytes(blob), kms)


def test_envelope_flipped_data_key_blob_is_refused_by_kms(kms, key_id):
    blob = bytearray(seal(b"hello", kms, key=key_id))
    blob[60] = ord("A") if blob[60] != ord("A") else ord("B")  # still Base64, no longer the blob
    with pytest.raises(KmsError):
        unseal(bytes(blob), kms)


# --- context and account -----------------------------------------------------------------------
def test_envelope_wrong_context_fails_before_kms(key_id, kms, tmp_path):
    blob = seal(b"secret", kms, key=key_id)
    for wrong in ({"purpose": "other"}, None, {**CTX, "extra": "1"}):
        with pytest.raises(ContextMismatchError, match="EncryptionContext"):
            unseal(blob, kms, ctx=wrong)
    assert unseal(blob, kms, ctx=dict(reversed(CTX.items()))) == b"secret"  # order does not matter


def test_envelope_forged_context_digest_is_still_refused_by_kms(key_id, kms):
    """The digest only gives a clear early error; KMS binds the context to the data key."""
    blob = seal(b"secret", kms, key=key_id)
    wrong = {"purpose": "other"}
    forged = blob[:20] + envelope.context_digest(wrong) + blob[52:]
    with pytest.raises(InvalidCiphertextError):
        unseal(forged, kms, ctx=wrong)


def other_account(emulator) -> Kms:
    """A client for the emulator's second account (`connect()` only knows the first)."""
    from aliyunsdkcore.client import AcsClient

    from helpers.client import Connection
    from helpers.credentials import FixedPairProvider
    from helpers.credentials import ProviderSigner
    from helpers.retry import RetryPolicy
    from helpers.transport import Transport

    acs = AcsClient("unused", "unused", emulator.region, proxy={"http": None, "https": None})
    acs.add_endpoint(emulator.region, "Kms", emulator.endpoint)
    signer = ProviderSigner(FixedPairProvider("testid2", "testsecret2"))
    return Kms(Transport(acs, signer, RetryPolicy()), Connection("emulator", emulator.region, emulator.endpoint, "testid2", "ada"))


def test_envelope_other_account_cannot_decrypt(emulator, kms, key_id, tmp_path):
    (tmp_path / "in.cipher").write_bytes(seal(b"secret", kms, key=key_id))
    other = other_account(emulator)
    try:
        with pytest.raises(KmsError) as err:
            envelope.decrypt_file(tmp_path / "in.cipher", tmp_path / "out", encryption_context=CTX, kms=other)
    finally:
        other.close()
    assert not isinstance(err.value, EnvelopeError)
    assert_nothing_written(tmp_path)


# --- interruptions and key hygiene ---------------------------------------------------------------
def test_envelope_source_failing_mid_stream_leaves_no_output(kms, key_id, tmp_path):
    def source() -> Iterator[bytes]:
        yield b"a" * (5 * CHUNK)
        raise OSError("disk went away")

    with pytest.raises(OSError, match="went away"):
        with helpers.atomic.atomic_output(tmp_path / "out.cipher") as out:
            envelope.encrypt_stream(source(), out, key_id, kms=kms, chunk_size=CHUNK)
    assert list(tmp_path.iterdir()) == []


def test_envelope_encrypt_file_interrupted_leaves_no_output(kms, key_id, tmp_path, monkeypatch):
    (tmp_path / "in").write_bytes(b"z" * (4 * CHUNK))
    calls = []
    real_fill = envelope.Source.fill

    def failing_fill(self, buf):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_fill(self, buf)

    monkeypatch.setattr(envelope.Source, "fill", failing_fill)
    with pytest.raises(KeyboardInterrupt):
        envelope.encrypt_file(tmp_path / "in", tmp_path / "in.cipher", key_id, kms=kms, chunk_size=CHUNK)
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


def test_envelope_checks_output_before_asking_kms(tmp_path):
    provider = FakeKms()
    (tmp_path / "in").write_bytes(b"data")
    (tmp_path / "in.cipher").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite"):
        envelope.encrypt_file(tmp_path / "in", tmp_path / "in.cipher", "k", kms=provider)
    assert provider.keys == []


def test_envelope_data_key_never_reaches_the_file(tmp_path):
    provider = FakeKms()
    data = bytes(5000)
    blob = seal(data, provider)
    key = provider.keys[0]
    assert key not in blob and base64.b64encode(key) not in blob


def test_envelope_header_layout_matches_the_spec():
    header = envelope.build_header(4096, b"N" * 7, b"D" * 32, "QUJD")
    assert header.raw == MAGIC + b"\x01" + struct.pack(">I", 4096) + b"N" * 7 + b"D" * 32 + b"\x00\x04QUJD"
    assert envelope.read_header(io.BytesIO(header.raw + b"rest")) == header


def test_envelope_large_files_are_read_through_mmap_and_round_trip(tmp_path, monkeypatch):
    """Files of 8 MiB and more skip the readinto copy; boundaries and output must not change."""
    maps = []
    real_mmap = envelope.mmap.mmap

    def counting_mmap(*args, **kwargs):
        maps.append(args)
        return real_mmap(*args, **kwargs)

    monkeypatch.setattr(envelope.mmap, "mmap", counting_mmap)
    fake = FakeKms()
    for size in (envelope.MMAP_MIN, envelope.MMAP_MIN + 5, 3 * (1 << 20) * 3):
        src, enc, dec = tmp_path / f"{size}.bin", tmp_path / f"{size}.enc", tmp_path / f"{size}.out"
        src.write_bytes(os.urandom(size))
        envelope.encrypt_file(src, enc, "k", kms=fake, chunk_size=1 << 20)
        envelope.decrypt_file(enc, dec, kms=fake)
        assert dec.read_bytes() == src.read_bytes()
        # the same bytes as the copying path produces for the same key and nonce prefix
        with open(enc, "rb") as f:
            header = envelope.read_header(f)
            mapped_chunks = f.read()
        copied = io.BytesIO()
        envelope._seal_chunks(io.BytesIO(src.read_bytes()), copied, envelope._aead(fake.keys[-1]), header,
                              hashlib.sha256(header.raw).digest())
        assert copied.getvalue() == mapped_chunks
    assert len(maps) == 2 * 3


def test_envelope_mmap_path_detects_tampering_and_writes_nothing(tmp_path):
    fake = FakeKms()
    src, enc, dec = tmp_path / "a.bin", tmp_path / "a.enc", tmp_path / "a.out"
    src.write_bytes(os.urandom(envelope.MMAP_MIN + 1000))
    envelope.encrypt_file(src, enc, "k", kms=fake)
    data = bytearray(enc.read_bytes())
    data[len(data) // 2] ^= 0x10
    enc.write_bytes(data)
    with pytest.raises(IntegrityError, match="chunk"):
        envelope.decrypt_file(enc, dec, kms=fake)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "a.enc"]


@pytest.mark.parametrize("new_size", [CHUNK + 1, 2 * CHUNK, envelope.MAX_CHUNK_SIZE])
def test_envelope_header_field_covered_only_by_the_aad_is_authenticated(new_size):
    """A one-chunk file cuts the same under any larger chunk size, and the nonce does not carry the
    size: only the header's SHA-256, as every chunk's associated data, notices the edit."""
    provider = FakeKms()
    blob = seal(b"short and sweet", provider)
    edited = blob[:9] + struct.pack(">I", new_size) + blob[13:]
    assert envelope.read_header(io.BytesIO(edited)).chunk_size == new_size  # a well-formed header
    out = io.BytesIO()
    with pytest.raises(IntegrityError, match="the header or chunk 0 failed authentication"):
        envelope.decrypt_stream(io.BytesIO(edited), out, encryption_context=CTX, kms=provider)
    assert out.getvalue() == b""
