# talk to the grader's control channel directly: no token, odd paths, a big body, another assignment
import os

import httpx

client = httpx.Client(transport=httpx.HTTPTransport(uds=os.environ["GEOLAB_CONTROL"]), base_url="http://geolab")
for method, path in (("POST", "/v1/labs/../../etc"), ("POST", "/v1/docker/run"), ("POST", "/v1/calls/solve"),
                     ("DELETE", "/v1/labs/basics")):
    print(client.request(method, path, content=b"x" * 100_000).text[:80])
token = {"Authorization": "Bearer " + os.environ["GEOLAB_CONTROL_TOKEN"]}
print(client.post("/v1/calls/check", json={"exercise": "05-ops/1"}, headers=token).text[:200])
print(client.post("/v1/calls/solve", json={"exercise": "01-basics/1"}, headers=token).text[:200])
# predictions: another assignment's exercise, a huge answer that is no choice, then a wrong one and
# the right one (the first stands; tests/unit/test_predictions.py proves that rule on the grader side)
for body in ({"exercise": "06-dr/1", "answer": "order 1: shanghai starts over from the first order"},
             {"exercise": "01-basics/3", "answer": "x" * 100_000},
             {"exercise": "01-basics/3", "answer": "both ways: one side listing the other is enough"},
             {"exercise": "01-basics/3", "answer": "beijing → shanghai only"}):
    print(client.post("/v1/calls/predict", json=body, headers=token).text[:200])
# the failover drill's steps, run by the grader: a step before any start, a topic outside the lab,
# numbers far out of range, a step that does not exist
for body in ({"action": "run_traffic", "messages": 200},
             {"action": "start", "topic": "persistent://public/default/x", "subscription": "billing",
              "check_interval_ms": 500},
             {"action": "start", "topic": "persistent://geolab/geo/x", "subscription": "billing",
              "check_interval_ms": 10**12},
             {"action": "receive_rest", "timeout_s": 1e9},
             {"action": "os.system('id')"}):
    print(client.post("/v1/calls/drill", json=body, headers=token).text[:200])
