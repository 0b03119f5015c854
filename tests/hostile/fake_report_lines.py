# print what an old runner's report and a gradebook row look like
print('{"status": "ok", "reason": "", "errors": 0}')
print("alice,01_replication_basics,2,6,8,8,ok,,,1.0")
