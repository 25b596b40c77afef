"""Drives a running infergraph gateway with the unmodified tritonclient.grpc V2 client.

Usage: python tritonclient_grpc.py HOST:PORT
Exits non-zero on the first mismatch; prints one JSON summary line on success.
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

client = grpcclient.InferenceServerClient(sys.argv[1])
summary = {}

assert client.is_server_live() and client.is_server_ready(), "server not live/ready"
assert client.is_model_ready("iris"), "iris not ready"
meta = client.get_model_metadata("iris", as_json=True)
assert [i["name"] for i in meta["inputs"]] == ["features"], meta
summary["outputs"] = [o["name"] for o in meta["outputs"]]

x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
inp = grpcclient.InferInput("features", list(x.shape), "FP32")
inp.set_data_from_numpy(x)
result = client.infer("iris", [inp], request_id="grpc-1")
assert result.get_response().id == "grpc-1"
summary["labels"] = result.as_numpy("label").tolist()
summary["species"] = [s.decode() for s in result.as_numpy("species").tolist()]
summary["probabilities"] = result.as_numpy("probabilities").tolist()

routed = client.infer("iris-ab", [inp], headers={"x-user-id": "alice"})
summary["route"] = routed.get_response(as_json=True)["parameters"]["route"]["string_param"]

try:
    bad = grpcclient.InferInput("features", [1, 3], "FP32")
    bad.set_data_from_numpy(np.ones((1, 3), np.float32))
    client.infer("iris", [bad])
    raise AssertionError("a [1, 3] input was accepted")
except InferenceServerException as err:
    summary["error"] = [err.status(), err.message()]

print(json.dumps(summary))
