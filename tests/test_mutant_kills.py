"""Tests written for mutants that survived `make mutants` (tools/mutants.py): one promise each.

Each test names the promise it pins; tools/mutants_equivalent.toml lists, under [killed], the
mutants they were written for, and docs/mutants.json shows which test kills each one now.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import struct
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from helpers import envelope, errors
from helpers.emulator import crypto
from helpers.emulator.entropy import Entropy
from helpers.results import DataKey, DecryptResult
from helpers.retry import RetryPolicy

CTX = {"purpose": "mutants"}


class FixedKeyKms:
    """A data-key provider that hands out one known key (of any length), so a test can decrypt by
    hand; the blob is just the key in Base64 (nothing here is about KMS)."""

    def __init__(self, key: bytes = bytes(range(32))) -> None:
        self.key = key

    def generate_data_key(self, key_id, key_spec="AES_256", number_of_bytes=None, encryption_context=None):  # type: ignore[no-untyped-def]
        return DataKey(key_id, "v1", base64.b64encode(self.key).decode(), self.key)

    def decrypt(self, blob, encryption_context=None, *, binary=False):  # type: ignore[no-untyped-def]
        return DecryptResult("k", "v1", base64.b64decode(blob), "")


def sealed(data: bytes, chunk_size: int, kms: FixedKeyKms | None = None) -> tuple[envelope.Header, bytes]:
    out = io.BytesIO()
    header = envelope.encrypt_stream(io.BytesIO(data), out, "k", encryption_context=CTX, kms=kms or FixedKeyKms(),
                                     chunk_size=chunk_size)  # fmt: skip
    return header, out.getvalue()


# --- helpers/envelope.py: the byte layout of docs/envelope.md -------------------------------------
def test_envelope_chunks_follow_the_documented_layout_byte_for_byte():
    """docs/envelope.md: nonce_i = P (7 bytes) || i (4 bytes, big-endian) || f (01 last, else 00),
    aad = SHA-256(header). A reader written from the document alone decrypts every chunk."""
    data = os.urandom(2 * 40 + 7)
    header, blob = sealed(data, chunk_size=40)
    prefix, chunk_size = blob[13:20], struct.unpack(">I", blob[9:13])[0]
    assert (prefix, chunk_size) == (header.nonce_prefix, 40)
    aes, aad, body = AESGCM(bytes(range(32))), hashlib.sha256(blob[: header.size]).digest(), blob[header.size :]
    chunks = [body[i : i + chunk_size + 16] for i in range(0, len(body), chunk_size + 16)]
    plain = b""
    for i, chunk in enumerate(chunks):
        nonce = prefix + struct.pack(">I", i) + (b"\x01" if i == len(chunks) - 1 else b"\x00")
        assert len(nonce) == 12
        plain += aes.decrypt(nonce, chunk, aad)
    assert plain == data


def test_envelope_documented_chunk_size_range_and_default():
    """1 … 16 777 216 bytes per chunk, default 1 048 576 (docs/envelope.md, the header table)."""
    assert envelope.read_header(io.BytesIO(sealed(b"x", 16_777_216)[1])).chunk_size == 16_777_216
    _, blob = sealed(b"x", 1)
    with pytest.raises(envelope.IntegrityError, match="out of range"):
        envelope.read_header(io.BytesIO(blob[:9] + struct.pack(">I", 16_777_217) + blob[13:]))
    with pytest.raises(ValueError, match="chunk_size"):
        sealed(b"x", 16_777_217)
    out = io.BytesIO()
    assert envelope.encrypt_stream(io.BytesIO(b"x"), out, "k", kms=FixedKeyKms()).chunk_size == 1_048_576


def test_envelope_writer_refuses_a_bad_chunk_size_before_reading_anything():
    class Untouchable:
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("read before the chunk size was checked")

    for bad in (0, -1, 16_777_217, 2.5):
        with pytest.raises(ValueError, match="chunk_size must be"):
            envelope.encrypt_stream(Untouchable(), io.BytesIO(), "k", kms=FixedKeyKms(), chunk_size=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("length", "fits"), [(0, False), (1, True), (65535, True), (65536, False)])
def test_envelope_header_blob_length_must_fit_its_two_bytes(length, fits):
    blob = "A" * length
    if fits:
        header = envelope.build_header(64, b"P" * 7, b"D" * 32, blob)
        assert header.raw[52:54] == struct.pack(">H", length) and header.data_key_blob == blob
    else:
        with pytest.raises(ValueError, match=f"data-key blob of {length} bytes does not fit"):
            envelope.build_header(64, b"P" * 7, b"D" * 32, blob)


@pytest.mark.parametrize("size", [16, 24, 31])
def test_envelope_refuses_a_data_key_that_is_not_aes_256(size):
    """AESGCM would take a 16- or 24-byte key: the kit must insist on the 32 bytes it promises."""
    with pytest.raises(envelope.EnvelopeError, match=f"{size}-byte data key; AES-256 needs 32"):
        sealed(b"x", 64, FixedKeyKms(bytes(size)))


def test_envelope_chunk_count_limit_is_enforced_both_ways(monkeypatch):
    """The index has 4 bytes: past 2**32 chunks the writer refuses and the reader calls it an
    extension. With the limit lowered to 2, the same branches run on a 3-chunk file."""
    _, blob = sealed(b"x" * 25, 10)
    monkeypatch.setattr(envelope, "_MAX_CHUNKS", 2)
    with pytest.raises(ValueError, match="input too large: more than 2 chunks of 10 bytes"):
        sealed(b"x" * 25, 10)
    with pytest.raises(envelope.IntegrityError, match="more than 2 chunks: the file was extended"):
        envelope.decrypt_stream(io.BytesIO(blob), io.BytesIO(), encryption_context=CTX, kms=FixedKeyKms())


def test_envelope_calls_return_the_header_and_the_output_path(tmp_path: Path):
    out = io.BytesIO()
    written = envelope.encrypt_stream(io.BytesIO(b"abc"), out, "k", encryption_context=CTX, kms=FixedKeyKms())
    read = envelope.decrypt_stream(io.BytesIO(out.getvalue()), io.BytesIO(), encryption_context=CTX, kms=FixedKeyKms())
    assert read == written and written.raw == out.getvalue()[: written.size]
    src = tmp_path / "plain.txt"
    src.write_bytes(b"abc")
    assert envelope.encrypt_file(src, tmp_path / "c", "k", kms=FixedKeyKms()) == tmp_path / "c"
    assert envelope.decrypt_file(tmp_path / "c", tmp_path / "p", kms=FixedKeyKms()) == tmp_path / "p"


def test_envelope_ciphertext_file_is_shareable_0644_and_plaintext_private_0600(tmp_path: Path):
    src = tmp_path / "plain.txt"
    src.write_bytes(b"abc")
    old = os.umask(0o022)
    try:
        envelope.encrypt_file(src, tmp_path / "c", "k", kms=FixedKeyKms())
        envelope.decrypt_file(tmp_path / "c", tmp_path / "p", kms=FixedKeyKms())
    finally:
        os.umask(old)
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "p").stat().st_mode & 0o777 == 0o600


# --- helpers/emulator/crypto.py ---------------------------------------------------------------
def test_crypto_shortest_blob_is_version_id_iv_and_tag():
    """36 + 12 + 16 = 64 bytes (an empty plaintext) is a blob; 63 bytes is too short."""
    version = str(uuid.uuid4())
    empty = crypto.seal(crypto.new_key_material(), version, b"", None)
    assert len(empty) == crypto.MIN_BLOB_LENGTH == 64
    assert crypto.blob_version_id(empty) == version
    with pytest.raises(crypto.BlobError, match="too short"):
        crypto.blob_version_id(empty[:63])


def test_crypto_random_bytes_are_the_entropy_sources():
    assert crypto.random_bytes(24, Entropy(seed=5)) == Entropy(seed=5).bytes(24)
    assert len(crypto.random_bytes(7)) == 7


def test_crypto_canonical_context_is_utf8_json_not_escaped():
    """The context is part of every stored blob's AAD: its encoding is a format, kept stable so a
    learner's saved emulator state still decrypts (UTF-8 characters as themselves, sorted keys)."""
    assert crypto.canonical_context({"b": "é", "a": "1"}) == '{"a":"1","b":"é"}'.encode()


@pytest.mark.parametrize("version", ["short", "x" * 37, str(uuid.uuid4())[:-1]])
def test_crypto_seal_refuses_a_version_id_that_is_not_36_characters(version):
    with pytest.raises(ValueError, match="36 ASCII characters"):
        crypto.seal(crypto.new_key_material(), version, b"x", None)


# --- helpers/retry.py ---------------------------------------------------------------------------
def test_retry_default_policy_tries_four_times_and_one_means_no_retry():
    """Four attempts by default (what docs/reliability.md reports as "attempt n of 4"); 1 is allowed."""
    busy = errors.ServiceUnavailableError("ServiceUnavailableTemporary", "busy", http_status=503)
    for policy, expected in ((RetryPolicy(sleep=lambda s: None), 4), (RetryPolicy(max_attempts=1), 1)):
        calls: list[int] = []

        def call() -> bytes:
            calls.append(1)
            raise busy

        with pytest.raises(errors.ServiceUnavailableError):
            policy.run("Decrypt", call, [])
        assert len(calls) == expected
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


# --- helpers/replay/cassette.py: account scrubbing ---------------------------------------------
def test_cassette_account_ids_are_six_digits_or_more_and_never_the_placeholder():
    from helpers.replay.cassette import ACCOUNT_PLACEHOLDER, account_ids_in

    text = ('{"Arn": "acs:kms:cn-hangzhou:123456:key/k", "Other": "acs:kms:cn-hangzhou:12345:key/k", '
            f'"Mine": "acs:kms:cn-hangzhou:{ACCOUNT_PLACEHOLDER}:key/k", "Creator": "1234567890123456"}}')
    assert account_ids_in(text) == {"123456", "1234567890123456"}


def test_cassette_replace_ids_scrubs_longest_first_and_everywhere():
    from helpers.replay.cassette import ACCOUNT_PLACEHOLDER as P, replace_ids

    ids = ["123456", "123456789"]  # one a prefix of the other: the longer must go whole
    assert replace_ids("acs:kms:r:123456789:key/k", ids) == f"acs:kms:r:{P}:key/k"
    value = {"123456": ["x 123456789 y", {"Creator": "123456"}], "n": 7, "t": True, "none": None}
    assert replace_ids(value, ids) == {P: [f"x {P} y", {"Creator": P}], "n": 7, "t": True, "none": None}
    assert replace_ids("123456", []) == "123456"


def test_cassette_scrub_accounts_replaces_in_requests_and_responses():
    from helpers.replay.cassette import ACCOUNT_PLACEHOLDER as P, Cassette, Interaction, Request, Response

    arn = "acs:kms:cn-hangzhou:5550001112223334:key/k"
    tape = Cassette("n", interactions=[Interaction(Request("DescribeKey", {"KeyId": arn}),
                                                   Response(200, {"KeyMetadata": {"Arn": arn}}))])  # fmt: skip
    tape.scrub_accounts([])
    assert tape.interactions[0].request.params["KeyId"] == arn  # nothing named, nothing changed
    tape.scrub_accounts(["5550001112223334"])
    scrubbed = f"acs:kms:cn-hangzhou:{P}:key/k"
    assert tape.interactions[0].request.params == {"KeyId": scrubbed}
    assert tape.interactions[0].response.body == {"KeyMetadata": {"Arn": scrubbed}}
    assert "5550001112223334" not in tape.dumps()
