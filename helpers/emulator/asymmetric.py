"""Asymmetric key pairs and their primitives: RSA and EC keys, sign/verify, OAEP encrypt/decrypt.

Everything comes from ``cryptography``; nothing is hand-rolled. The encodings are the service's
(https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-asymmetricsign):
the caller sends a raw digest (KMS signs it without hashing again), RSA signatures are the raw
k-byte value, ECDSA signatures DER ``SEQUENCE{r, s}``, PSS uses MGF1 with the digest's hash and a
salt as long as the digest, OAEP an empty label, public keys are PEM SubjectPublicKeyInfo.
A version's private key is stored as unencrypted PKCS#8 DER in the versions table, like symmetric
material, and never leaves the emulator.

EC_SM2 is not offered: ``cryptography`` has no SM2 curve, signature or encryption (checked for
version 50); CreateKey answers 400 UnsupportedOperation [I].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .entropy import OS, Entropy

DIGEST_LENGTH = 32  # every supported signing algorithm is *_SHA_256
_CURVES: dict[str, type[ec.EllipticCurve]] = {"EC_P256": ec.SECP256R1, "EC_P256K": ec.SECP256K1}
# Group orders, to derive a seeded (recording) emulator's EC keys from its entropy stream.
_ORDERS = {
    "EC_P256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "EC_P256K": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
}
_RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072}


class CryptoInputError(ValueError):
    """The input cannot be used with this key (too long a plaintext, a ciphertext that fails)."""


@dataclass(frozen=True)
class Algorithms:
    sign: tuple[str, ...]
    encrypt: tuple[str, ...]


#: the algorithms each KeySpec allows (the AsymmetricSign and AsymmetricEncrypt pages)
ALGORITHMS = {
    "RSA_2048": Algorithms(("RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256"), ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1")),
    "RSA_3072": Algorithms(("RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256"), ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1")),
    "EC_P256": Algorithms(("ECDSA_SHA_256",), ()),
    "EC_P256K": Algorithms(("ECDSA_SHA_256",), ()),
}
SPECS = tuple(ALGORITHMS)
SIGN_ALGORITHMS = ("RSA_PSS_SHA_256", "RSA_PKCS1_SHA_256", "ECDSA_SHA_256", "SM2DSA")
ENCRYPT_ALGORITHMS = ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1", "SM2PKE")


def generate(spec: str, entropy: Entropy = OS) -> bytes:
    """A new private key of ``spec`` as PKCS#8 DER.

    A seeded emulator's EC keys follow from its seed, like its symmetric material. [I] Its RSA keys
    do not: ``cryptography`` generates RSA primes only from the OS generator."""
    key: PrivateKeyTypes
    if spec in _RSA_BITS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[spec])
    elif entropy.seeded:
        scalar = int.from_bytes(entropy.bytes(40), "big") % (_ORDERS[spec] - 1) + 1
        key = ec.derive_private_key(scalar, _CURVES[spec]())
    else:
        key = ec.generate_private_key(_CURVES[spec]())
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


@lru_cache(maxsize=256)
def _private(material: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    # Loading is slow (RSA key checks take tens of ms), versions never change: cache per material.
    # The material was made by generate() above and read back from the private state file, so
    # OpenSSL's RSA consistency check is skipped.
    key = serialization.load_der_private_key(material, None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError("not an RSA or EC private key")
    return key


def public_pem(material: bytes) -> str:
    """PEM SubjectPublicKeyInfo: 64-character lines, ``\\n``, a trailing newline."""
    return _private(material).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")  # fmt: skip


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=DIGEST_LENGTH)


def sign(material: bytes, algorithm: str, digest: bytes) -> bytes:
    key, prehashed = _private(material), Prehashed(hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(prehashed))  # DER SEQUENCE{r, s}
    scheme = _pss() if algorithm == "RSA_PSS_SHA_256" else padding.PKCS1v15()
    return key.sign(digest, scheme, prehashed)


def verify(material: bytes, algorithm: str, digest: bytes, signature: bytes) -> bool:
    """False for any signature that does not verify, malformed ones included."""
    public, prehashed = _private(material).public_key(), Prehashed(hashes.SHA256())
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, digest, ec.ECDSA(prehashed))
        elif algorithm == "RSA_PSS_SHA_256":
            # [I] any salt length is accepted on verify (signatures made elsewhere may use another).
            public.verify(signature, digest, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                         salt_length=padding.PSS.AUTO), prehashed)  # fmt: skip
        else:
            public.verify(signature, digest, padding.PKCS1v15(), prehashed)
    except (InvalidSignature, ValueError):
        return False
    return True


def _oaep(algorithm: str) -> tuple[padding.OAEP, int]:
    algo: hashes.HashAlgorithm = hashes.SHA256() if algorithm == "RSAES_OAEP_SHA_256" else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None), algo.digest_size


def max_plaintext(material: bytes, algorithm: str) -> int:
    """k - 2h - 2 bytes: 190/214 for RSA_2048, 318/342 for RSA_3072 (the AsymmetricEncrypt page)."""
    key = _private(material)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.key_size // 8 - 2 * _oaep(algorithm)[1] - 2


def encrypt(material: bytes, algorithm: str, plaintext: bytes) -> bytes:
    key = _private(material)
    assert isinstance(key, rsa.RSAPrivateKey)  # only RSA specs list encryption algorithms
    if len(plaintext) > max_plaintext(material, algorithm):
        raise CryptoInputError(f"At most {max_plaintext(material, algorithm)} bytes can be encrypted with {algorithm}.")
    return key.public_key().encrypt(plaintext, _oaep(algorithm)[0])


def decrypt(material: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    key = _private(material)
    assert isinstance(key, rsa.RSAPrivateKey)
    if len(ciphertext) != key.key_size // 8:
        raise CryptoInputError(f"The ciphertext must be {key.key_size // 8} bytes.")
    try:
        return key.decrypt(ciphertext, _oaep(algorithm)[0])
    except ValueError as exc:
        raise CryptoInputError("Decryption failed: wrong key, algorithm or ciphertext.") from exc
