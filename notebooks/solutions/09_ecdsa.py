# Answer: ECDSA has no padding at all: ec.ECDSA(hashes.SHA256()) names only the hash. The
# signature is DER SEQUENCE{r, s}, about 70-72 bytes for P-256 against RSA-2048's fixed 256: r and
# s are 32-byte integers, and DER writes each in as few bytes as it needs (plus a 0x00 when its top
# bit is set), so the length varies from one signature to the next.
# (Predict, section 3: an RSA_PKCS1_SHA_256 signature fails with PSS padding, InvalidSignature;
# verify it with padding.PKCS1v15().)
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

note = b"release 1.0.1: signed with an elliptic-curve key"
ec_key = helpers.workshop.new_key(kms, "ecdsa exercise", key_spec="EC_P256", key_usage="SIGN/VERIFY")
ec_version = kms.list_key_versions(ec_key.key_id).items[0]["KeyVersionId"]
ec_digest = hashlib.sha256(note).digest()
ec_signature = kms.asymmetric_sign(ec_key.key_id, ec_version, "ECDSA_SHA_256", ec_digest).value
ec_public = serialization.load_pem_public_key(kms.get_public_key(ec_key.key_id, ec_version).public_key.encode())
ec_public.verify(ec_signature, note, ec.ECDSA(hashes.SHA256()))
print(f"a {len(ec_signature)}-byte DER signature from {ec_key.key_spec}: verifies offline")
assert ec_key.key_spec == "EC_P256" and kms.asymmetric_verify(ec_key.key_id, ec_version, "ECDSA_SHA_256",
                                                             ec_digest, ec_signature)
r, s = decode_dss_signature(ec_signature)
assert len(ec_signature) <= 72 and max(r, s).bit_length() <= 256
