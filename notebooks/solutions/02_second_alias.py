new_key = kms.describe_key(helpers.workshop.alias(kms, "Apollo/WorkKey"))
second_alias = helpers.workshop.alias(kms, "second")
kms.create_alias(second_alias, new_key.key_id)
aliases_of_new_key = [a["AliasName"] for a in kms.list_aliases_by_key_id(new_key.key_id).items]
print(aliases_of_new_key)
kms.delete_alias(second_alias)
print(kms.describe_key(new_key.key_id).key_state)  # the key is untouched
