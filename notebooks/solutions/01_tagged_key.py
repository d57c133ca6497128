my_key = kms.create_key(description="kms-workshop: my tagged key", tags=helpers.workshop.kit_tags(kms, {"owner": "ada"}))
my_tags = kms.list_resource_tags(my_key.key_id)
print(my_tags["owner"], "- and the kit's own tags:", my_tags["created-by"], my_tags["kms-workshop-learner"])
