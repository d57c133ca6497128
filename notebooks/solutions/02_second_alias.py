new_key = kms.describe_key("alias/Apollo/WorkKey")
kms.create_alias("alias/kms-workshop-ada", new_key.key_id)
print([a["AliasName"] for a in kms.list_aliases_by_key_id(new_key.key_id).items])
kms.delete_alias("alias/kms-workshop-ada")
print(kms.describe_key(new_key.key_id).key_state)  # the key is untouched
