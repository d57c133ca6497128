blob = kms.encrypt(ALIAS, "db-password-123", {"env": "dev"}).ciphertext_blob
try:
    kms.decrypt(blob, {"env": "prod"})
except helpers.InvalidCiphertextError as err:
    print(type(err).__name__, err.code)
