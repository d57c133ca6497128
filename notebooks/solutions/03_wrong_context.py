# Answer: InvalidCiphertextError (wire code InvalidParameter, the emulator's choice: the service
# does not document the code). The context is authenticated with the ciphertext, never stored in
# it, so Decrypt with {"env": "prod"} cannot tell "wrong context" from "altered blob": both fail the
# GCM tag check, and nothing is decrypted.
blob = kms.encrypt(ALIAS, "db-password-123", {"env": "dev"}).ciphertext_blob
try:
    kms.decrypt(blob, {"env": "prod"})
    error_class = None
except helpers.KmsError as err:
    error_class = type(err)
print(error_class.__name__ if error_class else "no error")
assert error_class is helpers.InvalidCiphertextError
assert kms.decrypt(blob, {"env": "dev"}).plaintext == "db-password-123"
