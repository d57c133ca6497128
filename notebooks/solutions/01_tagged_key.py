my_key = kms.create_key(description="kms-workshop: my tagged key", tags={"owner": "ada"})
print(kms.list_resource_tags(my_key.key_id))
