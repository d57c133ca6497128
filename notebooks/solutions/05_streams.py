import io

sealed_stream = io.BytesIO()
helpers.envelope.encrypt_stream(io.BytesIO(bundle), sealed_stream, ALIAS,
                                encryption_context={"file": "config-bundle"}, kms=kms)
restored_stream = io.BytesIO()
sealed_stream.seek(0)
helpers.envelope.decrypt_stream(sealed_stream, restored_stream, encryption_context={"file": "config-bundle"}, kms=kms)
print(restored_stream.getvalue() == bundle)
