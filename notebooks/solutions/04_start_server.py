# Answer: Decrypt fails first, with InvalidCiphertextError: the context is part of what the GCM tag
# authenticates, so no key comes back and no TLS server ever starts. The certificate is not the
# problem yet. To use the new context, encrypt the PEM again with it (a new key.pem.cipher) and
# ship that file; KMS cannot change the context of an existing ciphertext.
from pathlib import Path

CONTEXT = {"purpose": "tls-private-key", "host": "localhost"}
NEW_CONTEXT = {"purpose": "tls-private-key", "host": "www.example.com"}


def start_server(kms, cipher_path, context):
    key_pem = kms.decrypt(Path(cipher_path).read_text(), context).plaintext.encode()
    with helpers.tls.serve_https("certs/server.crt", key_pem) as url:
        status, _ = helpers.tls.fetch(url, "certs/ca.crt")
    return status


print("old context:", start_server(kms, "work/key.pem.cipher", CONTEXT))
try:
    start_server(kms, "work/key.pem.cipher", NEW_CONTEXT)
    new_context_error = None
except helpers.KmsError as err:
    new_context_error = err
print("new context:", type(new_context_error).__name__)
reencrypted = helpers.encrypt_file("certs/server.key", "work/key.www.pem.cipher", ALIAS,
                                   encryption_context=NEW_CONTEXT, overwrite=True, kms=kms)
print("new context, re-encrypted:", start_server(kms, reencrypted, NEW_CONTEXT))
assert start_server(kms, "work/key.pem.cipher", CONTEXT) == 200
assert isinstance(new_context_error, helpers.InvalidCiphertextError)
assert start_server(kms, reencrypted, NEW_CONTEXT) == 200
