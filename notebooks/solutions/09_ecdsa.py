# Predict-then-run: no. An RSA_PKCS1_SHA_256 signature fails offline with PSS padding
# (InvalidSignature): the padding is part of the scheme, so verify with padding.PKCS1v15().
# ECDSA has no padding at all: ec.ECDSA(hashes.SHA256()) names the hash, and the signature is
# DER SEQUENCE{r, s}, about 70-72 bytes for P-256 (r and s are integers whose DER length varies).
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

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
