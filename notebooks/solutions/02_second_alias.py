# Answer: yes, the key is still there and Enabled. An alias is only a name pointing at a key:
# a key may have several, and DeleteAlias removes the name, never the key (a key goes only
# through ScheduleKeyDeletion and its waiting period).
second_alias = helpers.workshop.alias(kms, "second")
kms.create_alias(second_alias, new_key.key_id)
aliases_of_new_key = [a["AliasName"] for a in kms.list_aliases_by_key_id(new_key.key_id).items]
print(aliases_of_new_key)
kms.delete_alias(second_alias)
after_delete = kms.describe_key(new_key.key_id)
print(after_delete.key_state)
assert second_alias in aliases_of_new_key
assert after_delete.key_state == "Enabled"
assert second_alias not in [a["AliasName"] for a in kms.list_aliases_by_key_id(new_key.key_id).items]
