"""Drives a running infergraph gateway with the unmodified tritonclient.http V2 client.

Usage: python tritonclient_http.py HOST:PORT
Exits non-zero with a message on the first mismatch; prints one JSON summary line on success.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

url = sys.argv[1]
client = httpclient.InferenceServerClient(url)
summary = {}

assert client.is_server_live(), "server not live"
assert client.is_server_ready(), "server not ready"
assert client.is_model_ready("iris"), "iris not ready"
meta = client.get_model_metadata("iris")
assert meta["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}], meta
summary["metadata"] = meta["name"]

x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
for binary in (True, False):
    inp = httpclient.InferInput("features", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary)
    outputs = [
        httpclient.InferRequestedOutput("label", binary_data=binary),
        httpclient.InferRequestedOutput("probabilities", binary_data=not binary),
    ]
    result = client.infer("iris", [inp], outputs=outputs, request_id=f"tc-{binary}")
    labels = result.as_numpy("label")
    probs = result.as_numpy("probabilities")
    assert labels.dtype == np.int64 and labels.tolist() == [0, 2], labels
    assert probs.shape == (2, 3) and abs(probs.sum(axis=1) - 1).max() < 1e-5, probs
    assert result.get_response()["id"] == f"tc-{binary}"
    summary["binary" if binary else "json"] = {"labels": labels.tolist(), "probabilities": probs.round(6).tolist()}

arrays = {
    "bool": (np.array([[True, False], [False, True]]), "BOOL"),
    "int8": (np.array([[-128, 127], [0, 1]], np.int8), "INT8"),
    "int16": (np.array([[-32768, 32767], [0, 1]], np.int16), "INT16"),
    "int32": (np.array([[-(2**31), 2**31 - 1], [0, 1]], np.int32), "INT32"),
    "int64": (np.array([[-(2**63), 2**63 - 1], [0, 2**40]], np.int64), "INT64"),
    "uint8": (np.array([[0, 255], [1, 2]], np.uint8), "UINT8"),
    "uint16": (np.array([[0, 65535], [1, 2]], np.uint16), "UINT16"),
    "uint32": (np.array([[0, 2**32 - 1], [1, 2]], np.uint32), "UINT32"),
    "uint64": (np.array([[0, 2**64 - 1], [1, 2]], np.uint64), "UINT64"),
    "float16": (np.array([[0.5, -2], [65504, 0.1]], np.float16), "FP16"),
    "float32": (np.array([[1.5, -0.25], [3.4e38, 1e-30]], np.float32), "FP32"),
    "float64": (np.array([[np.pi, -1e300], [5e-324, 2.5]], np.float64), "FP64"),
}
for binary in (True, False):
    if not binary:
        # JSON numbers beyond 2^53 cannot be exact; the gateway rejects them (tested below) rather than round.
        arrays["int64"] = (np.array([[-(2**53 - 1), 2**53 - 1], [0, 2**40]], np.int64), "INT64")
        arrays["uint64"] = (np.array([[0, 2**53 - 1], [1, 2]], np.uint64), "UINT64")
    inputs = []
    for name, (value, datatype) in arrays.items():
        i = httpclient.InferInput(f"in_{name}", [2, 2], datatype)
        i.set_data_from_numpy(value, binary_data=binary)
        inputs.append(i)
    strings = np.array([["héllo".encode(), b"x"], [b"", "✓".encode()]], dtype=np.object_)
    s = httpclient.InferInput("in_string", [2, 2], "BYTES")
    s.set_data_from_numpy(strings, binary_data=binary)
    inputs.append(s)
    result = client.infer("dtypes", inputs)
    for name, (value, _) in arrays.items():
        got = result.as_numpy(f"out_{name}")
        assert got.dtype == value.dtype and (got == value).all(), (name, binary, got, value)
    got = result.as_numpy("out_string")
    assert [[bytes(v) if not isinstance(v, bytes) else v for v in row] for row in got.tolist()] == strings.tolist(), got
summary["dtypes"] = len(arrays) + 1

try:
    big = httpclient.InferInput("in_int64", [1, 2], "INT64")
    big.set_data_from_numpy(np.array([[2**62, 1]], np.int64), binary_data=False)
    client.infer("dtypes", [big])
    raise AssertionError("an inexact JSON int64 was accepted")
except InferenceServerException as err:
    assert err.status() == "400" and "lose precision" in err.message(), err.message()

try:
    bad = httpclient.InferInput("features", [1, 3], "FP32")
    bad.set_data_from_numpy(np.ones((1, 3), np.float32))
    client.infer("iris", [bad])
    raise AssertionError("a [1, 3] input was accepted")
except InferenceServerException as err:
    assert err.status() == "400", err.status()
    assert "dimension 1 must be 4" in err.message(), err.message()
    summary["error"] = err.message()

print(json.dumps(summary))
