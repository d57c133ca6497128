# Answer: 366 days. DescribeKey says KeyState PendingDeletion with a DeleteDate 366 days ahead;
# meanwhile Encrypt is refused with KeyStateError (Rejected.PendingDeletion, HTTP 409); 367 days is
# refused with InvalidParameterError before anything changes; CancelKeyDeletion returns the key
# to Enabled (whatever state it had before the deletion was scheduled).
too_long = encrypt_error = None
try:
    kms.schedule_key_deletion(new_key.key_id, 367)
except helpers.errors.InvalidParameterError as exc:
    too_long = exc
longest_window_in_days = 366
kms.schedule_key_deletion(new_key.key_id, longest_window_in_days)
meta = kms.describe_key(new_key.key_id)
state_while_pending = meta.key_state
print(state_while_pending, "- deleted for good at", meta.delete_date)
try:
    kms.encrypt(new_key.key_id, "while pending")
except helpers.KeyStateError as exc:
    encrypt_error = exc
print("Encrypt meanwhile:", type(encrypt_error).__name__, encrypt_error.code)
kms.cancel_key_deletion(new_key.key_id)
state_after_cancel = kms.describe_key(new_key.key_id).key_state
print("after CancelKeyDeletion:", state_after_cancel)
assert isinstance(too_long, helpers.errors.InvalidParameterError)
assert state_while_pending == "PendingDeletion" and encrypt_error.code == "Rejected.PendingDeletion"
assert state_after_cancel == "Enabled"
