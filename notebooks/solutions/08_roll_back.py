# Answer: after the roll-back the refreshed cache serves v1 (ACSCurrent again), and ACSPrevious
# is on v3, the version that lost ACSCurrent; v2 lost that label. (The label moves are the
# emulator's inference for UpdateSecretVersionStage.) v1 could come back because a version that
# loses its last label is hidden, not deleted.
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
stages = {version.version_id: version.version_stages for version in kms.list_secret_version_ids(SECRET)}
assert rolled_back.version_id == "v1"
assert stages["v1"] == ("ACSCurrent",) and stages["v3"] == ("ACSPrevious",)
