# Predict, then run (section 3): after the second put, ACSPrevious is on v2, the version v3
# replaced; v1 lost its label, so ListSecretVersionIds hides it unless include_deprecated=True.
# It still exists, which is what makes this roll-back possible.
from helpers.secrets_client import close_cache_client, open_cache_client

if "SECRET" not in globals():  # run on its own (as the tests do): the notebook's secret, v1 to v3
    SECRET = helpers.workshop.secret_name(kms, "roll-back")
    helpers.workshop.new_secret(kms, SECRET, "first", encryption_key_id=ALIAS, version_id="v1", replace=True)
    kms.put_secret_value(SECRET, "second", version_id="v2")
    kms.put_secret_value(SECRET, "third", version_id="v3")
    cache = open_cache_client(kms)
    cache.get_secret_value(SECRET)

kms.update_secret_version_stage(SECRET, "ACSCurrent", move_to_version="v1")
for version in kms.list_secret_version_ids(SECRET):
    print(version.version_id, version.version_stages)
cache.refresh_now(SECRET)
rolled_back = cache.get_secret_info(SECRET)
print("the cache serves", rolled_back.version_id)
if SECRET.endswith("/roll-back"):
    close_cache_client(cache)
# v1 is ACSCurrent again and the refreshed cache serves it; v3, which lost ACSCurrent, is now
# ACSPrevious (and v2 lost that label), the emulator's inference for UpdateSecretVersionStage.
assert rolled_back.version_id == "v1"
