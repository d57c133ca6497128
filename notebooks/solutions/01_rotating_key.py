# Answer: DescribeKey reports RotationInterval in seconds, "2592000s" (30 x 86400), whatever unit
# you sent, and NextRotationDate is CreationDate plus that interval. "3d" is refused with
# InvalidParameterError: a software key rotates at most every 7 days (the API reference gives
# 7 to 365 days), so KMS checks the interval before it creates anything.
from datetime import datetime, timedelta

rotating_key = kms.create_key(description="kms-workshop: rotates every 30 days", tags=helpers.workshop.kit_tags(kms),
                              enable_automatic_rotation=True, rotation_interval="30d")
meta = kms.describe_key(rotating_key.key_id)
print(meta.automatic_rotation, meta.rotation_interval, meta.creation_date, "->", meta.next_rotation_date)
try:
    kms.create_key(description="kms-workshop: rotates too often", tags=helpers.workshop.kit_tags(kms),
                   enable_automatic_rotation=True, rotation_interval="3d")
    short_interval_error = None
except helpers.errors.InvalidParameterError as err:
    short_interval_error = err
print(type(short_interval_error).__name__, short_interval_error.code if short_interval_error else "")


def utc(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


assert meta.automatic_rotation == "Enabled" and meta.rotation_interval == "2592000s"
assert utc(meta.next_rotation_date) - utc(meta.creation_date) == timedelta(days=30)
assert isinstance(short_interval_error, helpers.errors.InvalidParameterError)
