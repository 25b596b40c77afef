#!/usr/bin/env python3
"""Build the tiny hand-made ONNX test fixtures in test/fixtures/models/.

Built with onnx.helper (no training), so the output is byte-identical on every
run. Each model is checked with onnx.checker and exercised with onnxruntime;
SHA256SUMS (sha256sum format) is rewritten at the end.

  identity-all-dtypes.onnx  one Identity per datatype: in_<dt> -> out_<dt>, [N, 2]
  fixed-batch.onnx          x FLOAT [2, 3] -> y = x * 2, every dimension fixed
  add.onnx                  a, b FLOAT [N, 3] -> sum = a + b
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "test" / "fixtures" / "models"

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17
PRODUCER = "infergraph-make_fixtures"
PRODUCER_VERSION = "1"

# name -> (ONNX element type, numpy dtype used to feed onnxruntime, sample [2, 2] values)
DTYPES: dict[str, tuple[int, object, list]] = {
    "bool": (TensorProto.BOOL, np.bool_, [[True, False], [False, True]]),
    "int8": (TensorProto.INT8, np.int8, [[-128, 127], [0, -1]]),
    "int16": (TensorProto.INT16, np.int16, [[-32768, 32767], [0, -1]]),
    "int32": (TensorProto.INT32, np.int32, [[-(2**31), 2**31 - 1], [0, -1]]),
    "int64": (TensorProto.INT64, np.int64, [[-(2**63), 2**63 - 1], [0, -1]]),
    "uint8": (TensorProto.UINT8, np.uint8, [[0, 255], [1, 128]]),
    "uint16": (TensorProto.UINT16, np.uint16, [[0, 65535], [1, 32768]]),
    "uint32": (TensorProto.UINT32, np.uint32, [[0, 2**32 - 1], [1, 2**31]]),
    "uint64": (TensorProto.UINT64, np.uint64, [[0, 2**64 - 1], [1, 2**63]]),
    "float16": (TensorProto.FLOAT16, np.float16, [[0.5, -65504.0], [1.0, 0.0009765625]]),
    "float32": (TensorProto.FLOAT, np.float32, [[1.5, -3.25], [3.4028234663852886e38, 1e-45]]),
    "float64": (TensorProto.DOUBLE, np.float64, [[1.5, -3.25], [1.7976931348623157e308, 5e-324]]),
    "string": (TensorProto.STRING, object, [["a", ""], ["héllo", "with space"]]),
}


def log(msg: str) -> None:
    print(f"[fixtures] {msg}", flush=True)


def make_model(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def describe(sess: ort.InferenceSession) -> None:
    for i in sess.get_inputs():
        print(f"    input  {i.name!r} {i.type} {i.shape}")
    for o in sess.get_outputs():
        print(f"    output {o.name!r} {o.type} {o.shape}")


def identity_all_dtypes() -> onnx.ModelProto:
    inputs, outputs, nodes = [], [], []
    for dt, (elem, _, _) in DTYPES.items():
        inputs.append(helper.make_tensor_value_info(f"in_{dt}", elem, ["N", 2]))
        outputs.append(helper.make_tensor_value_info(f"out_{dt}", elem, ["N", 2]))
        nodes.append(helper.make_node("Identity", [f"in_{dt}"], [f"out_{dt}"], name=f"identity_{dt}"))
    graph = helper.make_graph(nodes, "identity_all_dtypes", inputs, outputs)
    model = make_model(
        graph, "One Identity per datatype: in_<dt> [N, 2] -> out_<dt> [N, 2] for " + ", ".join(DTYPES)
    )

    sess = session(model)
    describe(sess)
    expected_types = {
        "bool": "tensor(bool)",
        "float32": "tensor(float)",
        "float64": "tensor(double)",
        "string": "tensor(string)",
    }
    for i in sess.get_inputs():
        dt = i.name[len("in_"):]
        assert i.type == expected_types.get(dt, f"tensor({dt})"), (i.name, i.type)
        assert i.shape == ["N", 2], (i.name, i.shape)
    feeds = {f"in_{dt}": np.array(vals, dtype=npdt) for dt, (_, npdt, vals) in DTYPES.items()}
    # a second batch size too, to exercise the dynamic N
    for n in (2, 5):
        batch = {k: np.resize(v, (n, 2)) for k, v in feeds.items()}
        results = sess.run(None, batch)
        for o, got in zip(sess.get_outputs(), results):
            dt = o.name[len("out_"):]
            want = batch[f"in_{dt}"]
            assert got.shape == (n, 2), (o.name, got.shape)
            if dt == "string":
                assert got.tolist() == want.tolist(), (o.name, got, want)
            else:
                assert got.dtype == want.dtype, (o.name, got.dtype, want.dtype)
                assert np.array_equal(got, want), (o.name, got, want)
    log(f"identity-all-dtypes: {len(DTYPES)} dtypes round-trip ({', '.join(DTYPES)})")
    return model


def fixed_batch() -> onnx.ModelProto:
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), name="two")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"], name="times_two")],
        "fixed_batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[two],
    )
    model = make_model(graph, "y = x * 2 with x, y FLOAT [2, 3]: every dimension fixed")

    sess = session(model)
    describe(sess)
    assert [(i.name, i.type, i.shape) for i in sess.get_inputs()] == [("x", "tensor(float)", [2, 3])]
    assert [(o.name, o.type, o.shape) for o in sess.get_outputs()] == [("y", "tensor(float)", [2, 3])]
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    (y,) = sess.run(None, {"x": x})
    assert y.dtype == np.float32 and np.array_equal(y, x * 2), y
    for bad in ((3, 3), (2, 4), (1, 3)):
        try:
            sess.run(None, {"x": np.zeros(bad, dtype=np.float32)})
        except Exception as e:  # onnxruntime raises InvalidArgument on the fixed dims
            assert "dimension" in str(e).lower(), e
        else:
            raise AssertionError(f"fixed-batch accepted shape {bad}")
    log("fixed-batch: y = 2x ok; shapes [3,3], [2,4], [1,3] rejected")
    return model


def add() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"], name="add")],
        "add",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3]),
        ],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["N", 3])],
    )
    model = make_model(graph, "sum = a + b with a, b, sum FLOAT [N, 3]")

    sess = session(model)
    describe(sess)
    assert [(i.name, i.type, i.shape) for i in sess.get_inputs()] == [
        ("a", "tensor(float)", ["N", 3]),
        ("b", "tensor(float)", ["N", 3]),
    ]
    assert [(o.name, o.type, o.shape) for o in sess.get_outputs()] == [("sum", "tensor(float)", ["N", 3])]
    for n in (1, 4):
        a = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
        b = np.full((n, 3), 0.5, dtype=np.float32)
        (s,) = sess.run(None, {"a": a, "b": b})
        assert s.dtype == np.float32 and np.array_equal(s, a + b), s
    log("add: a + b ok for N=1 and N=4")
    return model


def main() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    built = {
        "identity-all-dtypes.onnx": identity_all_dtypes(),
        "fixed-batch.onnx": fixed_batch(),
        "add.onnx": add(),
    }
    sums = []
    for name in sorted(built):
        data = built[name].SerializeToString()
        with open(OUT_DIR / name, "wb") as f:
            f.write(data)
        sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
        log(f"wrote {name} ({len(data)} bytes, sha256 {sums[-1][:16]})")
    with open(OUT_DIR / "SHA256SUMS", "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(sums) + "\n")
    log(f"wrote {OUT_DIR.relative_to(REPO_ROOT)}/SHA256SUMS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
