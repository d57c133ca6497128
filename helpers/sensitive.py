"""Which API parameters and fields are secret, in one place: what the kit masks when it shows a
request or a response (`transport`, `widgets`), and what a cassette never stores in the clear
(`replay.cassette`). A leaf module: it imports nothing, so every layer may use it."""

#: who signed the request: never shown, never stored
CREDENTIAL_PARAMS = frozenset({"AccessKeyId", "SecurityToken", "Signature", "SignatureNonce"})
#: the data a caller protects, as sent: shown only as a length, stored only as a digest
SECRET_PARAMS = frozenset({"Plaintext", "CiphertextBlob", "EncryptedKeyMaterial", "Value",
                           "SecretData"})  # a secret's value (CreateSecret, PutSecretValue)
#: tied to the data though not secret: stored as a digest, so matching a recording needs no plaintext
BOUND_PARAMS = frozenset({"EncryptionContext", "SourceEncryptionContext", "DestinationEncryptionContext",
                          "Digest", "Message"})
#: response fields that hold plaintext: shown only as a length
SECRET_RESPONSE_FIELDS = frozenset({"Plaintext", "SecretData", "RandomPassword"})
