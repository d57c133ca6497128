"""Encrypt's 6144-byte Plaintext limit at its exact edge, in UTF-8 bytes rather than characters.

The limit is counted twice: by the helpers before any request (helpers/encoding.py) and by the
emulator on the wire (helpers/emulator/responses.py, after a cheaper character check). ASCII text
cannot tell bytes from characters, nor can text far over the limit, so every case here is
multi-byte text within one byte of 6144: an off-by-one or a count of characters shows up.
"""

from __future__ import annotations

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

import helpers
from helpers.emulator import Emulator
from helpers.encoding import MAX_PLAINTEXT_BYTES, encode_plaintext
from tests.conftest import EmulatorCall
from tests.stub_server import StubServer

OK_ENCRYPT = (200, {"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "Yg==", "RequestId": "r"})
#: (text of exactly 6144 UTF-8 bytes, the same plus one ASCII byte) for 2-, 3- and 4-byte characters
EDGES = [("é" * 3072, "é" * 3072 + "a"), ("€" * 2048, "€" * 2048 + "a"), ("😀" * 1536, "😀" * 1536 + "a")]


def test_the_edge_texts_are_what_they_claim() -> None:
    for fits, over in EDGES:
        assert len(fits.encode()) == MAX_PLAINTEXT_BYTES == 6144 and len(over.encode()) == 6145
        assert len(over) < MAX_PLAINTEXT_BYTES  # so a character count alone would let it through


@pytest.fixture
def key_id(emulator_call: EmulatorCall) -> str:
    return str(emulator_call("CreateKey", Description="kms-workshop: limit")["KeyMetadata"]["KeyId"])


@pytest.mark.parametrize(("fits", "over"), EDGES)
def test_emulator_takes_6144_utf8_bytes_and_refuses_6145(emulator_call: EmulatorCall, key_id: str, fits: str,
                                                         over: str) -> None:  # fmt: skip
    blob = emulator_call("Encrypt", KeyId=key_id, Plaintext=fits)["CiphertextBlob"]
    assert emulator_call("Decrypt", CiphertextBlob=blob)["Plaintext"] == fits
    with pytest.raises(ServerException) as info:
        emulator_call("Encrypt", KeyId=key_id, Plaintext=over)
    assert (info.value.get_error_code(), info.value.get_http_status()) == ("InvalidParameter", 400)
    assert "6144 bytes" in info.value.get_error_msg()  # the byte check refused it, not the character check


@pytest.mark.parametrize(("fits", "over"), EDGES)
def test_helpers_check_counts_utf8_bytes_before_any_request(fits: str, over: str) -> None:
    assert encode_plaintext(fits) == fits
    with pytest.raises(helpers.PlaintextTooLargeError, match="6145 bytes"):
        encode_plaintext(over)
    with StubServer([OK_ENCRYPT]) as stub:
        kms = helpers.connect("emulator", endpoint=stub.endpoint)
        with pytest.raises(helpers.PlaintextTooLargeError):
            kms.encrypt("alias/x", over)
        assert stub.requests == []  # refused before the network
        assert kms.encrypt("alias/x", fits).ciphertext_blob == "Yg=="
        assert len(stub.requests) == 1


def test_bytes_are_limited_as_sent_base64_at_the_exact_edge() -> None:
    """Bytes travel as Base64: 4608 bytes are 6144 characters sent, 4609 bytes are 6148."""
    assert len(encode_plaintext(b"\xff" * 4608)) == 6144
    with pytest.raises(helpers.PlaintextTooLargeError, match="6148 bytes"):
        encode_plaintext(b"\xff" * 4609)


def test_helpers_and_emulator_agree_at_the_edge() -> None:
    """Through the helpers to the emulator: what the client lets through, the emulator takes."""
    with Emulator() as emu, helpers.connect("emulator", endpoint=emu.endpoint) as kms:
        key = kms.create_key().key_id
        for fits, _ in EDGES:
            assert kms.decrypt(kms.encrypt(key, fits).ciphertext_blob).plaintext == fits
