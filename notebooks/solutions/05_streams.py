# Answer: exactly the context you sealed with, {"file": "config-bundle", "env": "prod"} (in any
# key order: the envelope header keeps a digest of the sorted context). {"file": "config-bundle"}
# alone fails with helpers.envelope.ContextMismatchError, raised before any request: the reader
# compares the context with the header's digest first, so KMS never sees the attempt.
import io

context = {"file": "config-bundle", "env": "prod"}
sealed_stream = io.BytesIO()
helpers.envelope.encrypt_stream(io.BytesIO(bundle), sealed_stream, ALIAS, encryption_context=context, kms=kms)

before, wrong_context_error = kms.last_request, None
try:
    sealed_stream.seek(0)
    helpers.envelope.decrypt_stream(sealed_stream, io.BytesIO(), encryption_context={"file": "config-bundle"},
                                    kms=kms)
except helpers.envelope.ContextMismatchError as exc:
    wrong_context_error = exc
reached_kms = kms.last_request != before
print("with part of the context:", type(wrong_context_error).__name__, "- reached KMS:", reached_kms)

restored_stream = io.BytesIO()
sealed_stream.seek(0)
same_pairs_reordered = {"env": "prod", "file": "config-bundle"}
helpers.envelope.decrypt_stream(sealed_stream, restored_stream, encryption_context=same_pairs_reordered, kms=kms)
print("with the whole context, in another order:", restored_stream.getvalue() == bundle)
assert isinstance(wrong_context_error, helpers.envelope.ContextMismatchError) and not reached_kms
assert restored_stream.getvalue() == bundle
