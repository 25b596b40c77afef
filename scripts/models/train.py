#!/usr/bin/env python3
"""Train, convert, verify and write the example models under models/.

Run through scripts/models/train.sh (which sets up the pinned virtualenv).

For every model this script:
  1. loads a dataset that ships inside scikit-learn and makes a stratified
     train/test split (test_size=0.25, random_state=42);
  2. fits Pipeline(StandardScaler, <classifier>) on the training rows;
  3. converts it to ONNX with skl2onnx under the contract the TypeScript side
     relies on: input `input` FLOAT [N, F]; outputs `label` INT64 [N] and
     `probabilities` FLOAT [N, C] (no ZipMap);
  4. checks the model with onnx.checker and onnxruntime, and asserts that
     onnxruntime reproduces scikit-learn's labels exactly and its
     probabilities to within 1e-5 on every float32-cast test row;
  5. writes model.onnx, model.json, MODEL_CARD.md, golden.json (and
     reference.csv for the drift/outlier models) to models/<name>/1/, and
     models/README.md.

It also exports "core" models (CORE_SPECS): the classifier step of an
already-trained pipeline converted alone, without its StandardScaler, for
graphs that standardise the raw features in a transformer node first. The
core is not retrained: it is the very estimator object fitted inside the
parent pipeline. Its golden.json holds the parent's raw float32 rows and
scikit-learn's pipeline outputs, and the script checks that standardising
those rows the way the graph does (float64 (x - mean) / scale, rounded to
float32) and running the core reproduces them.

Everything is deterministic: fixed random_state everywhere, single-threaded
BLAS, a fixed graph name (skl2onnx otherwise uses a random uuid), and no
timestamps in any output.
"""

from __future__ import annotations

import os
import sys

# Pin the string hash seed (re-exec once if needed): skl2onnx iterates over
# sets of names in places, and a random seed can reorder parts of the model
# between runs. opset_import is also sorted explicitly below; this guards
# against any other such spot.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

# Single-threaded BLAS/OpenMP before numpy is imported: multi-threaded
# reductions may sum in a different order, which would make the trained
# weights (and so model.onnx) differ between machines or runs.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import skl2onnx  # noqa: E402
import sklearn  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType  # noqa: E402
from sklearn.base import ClassifierMixin  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_iris  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"
VERSION = "1"

TEST_SIZE = 0.25
RANDOM_STATE = 42
PROB_TOLERANCE = 1e-5
# Opsets asked of skl2onnx. It emits the lowest opset each domain actually
# needs (opset <= 17, ai.onnx.ml <= 3), all loadable by onnxruntime 1.30.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}

VERSIONS = {
    "sklearn": sklearn.__version__,
    "skl2onnx": skl2onnx.__version__,
    "onnx": onnx.__version__,
    "onnxruntime": ort.__version__,
}

DATASETS: dict[str, Callable[[], Any]] = {
    "iris": load_iris,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


@dataclass(frozen=True)
class Spec:
    name: str
    dataset: str
    make_classifier: Callable[[], ClassifierMixin]
    description: str
    golden_rows: int | None = None  # None: every test row
    reference_csv: bool = False
    max_size_bytes: int | None = None


@dataclass(frozen=True)
class CoreSpec:
    """The classifier step of the already-fitted pipeline `parent`, converted alone."""

    name: str
    parent: str  # a Spec name; its fitted pipeline's "clf" step is reused as is
    description: str


SPECS: list[Spec] = [
    Spec(
        name="iris-logreg",
        dataset="iris",
        make_classifier=lambda: LogisticRegression(max_iter=1000),
        description="StandardScaler + LogisticRegression(max_iter=1000)",
        reference_csv=True,
    ),
    Spec(
        name="iris-rf",
        dataset="iris",
        make_classifier=lambda: RandomForestClassifier(
            n_estimators=50, max_depth=5, random_state=RANDOM_STATE
        ),
        description="StandardScaler + RandomForestClassifier(n_estimators=50, max_depth=5)",
        max_size_bytes=1024 * 1024,
    ),
    Spec(
        name="iris-mlp",
        dataset="iris",
        make_classifier=lambda: MLPClassifier(
            hidden_layer_sizes=(16,), max_iter=2000, random_state=RANDOM_STATE
        ),
        description="StandardScaler + MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000)",
    ),
    Spec(
        name="breast-cancer-gb",
        dataset="breast_cancer",
        make_classifier=lambda: GradientBoostingClassifier(
            n_estimators=100, max_depth=3, random_state=RANDOM_STATE
        ),
        description="StandardScaler + GradientBoostingClassifier(n_estimators=100, max_depth=3)",
        reference_csv=True,
    ),
    Spec(
        name="digits-mlp",
        dataset="digits",
        make_classifier=lambda: MLPClassifier(
            hidden_layer_sizes=(1024, 1024),
            max_iter=200,
            random_state=RANDOM_STATE,
            early_stopping=False,
        ),
        description=(
            "StandardScaler + MLPClassifier(hidden_layer_sizes=(1024, 1024), max_iter=200, "
            "early_stopping=False); compute-heavy, meant for benchmarks"
        ),
        golden_rows=50,
    ),
]


CORE_SPECS: list[CoreSpec] = [
    CoreSpec(
        name="iris-logreg-core",
        parent="iris-logreg",
        description=(
            "the LogisticRegression(max_iter=1000) step of iris-logreg's fitted pipeline alone, "
            "without its StandardScaler (expects standardised input)"
        ),
    ),
]


# --------------------------------------------------------------------------
# helpers


def log(msg: str) -> None:
    print(f"[models] {msg}", flush=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_json(obj: Any, indent: int = 0) -> str:
    """JSON with 2-space indentation, but lists of scalars kept on one line."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [
            f"{inner}{json.dumps(str(k))}: {to_json(v, indent + 1)}" for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in obj) + "]"
        items = [f"{inner}{to_json(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def session(model_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, sess_options=opts, providers=["CPUExecutionProvider"])


def dataset_dict(dataset: str) -> dict[str, Any]:
    bunch = DATASETS[dataset]()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    features = [str(f) for f in bunch.feature_names]
    classes = [str(c) for c in bunch.target_names]
    # The ONNX label output is the class index; that only lines up with
    # `classes` if the targets are exactly 0..C-1.
    assert sorted(set(y.tolist())) == list(range(len(classes))), dataset
    assert X.shape[1] == len(features), dataset
    return {"X": X, "y": y, "features": features, "classes": classes}


# --------------------------------------------------------------------------
# conversion


def convert(spec: Spec, pipe: Pipeline, n_features: int, n_classes: int, dataset: str) -> onnx.ModelProto:
    scaler: StandardScaler = pipe.named_steps["scaler"]
    clf = pipe.named_steps["clf"]
    options = {
        # Plain probabilities tensor instead of a ZipMap (sequence of maps).
        id(clf): {"zipmap": False},
        # By default skl2onnx turns the StandardScaler into the ai.onnx.ml
        # Scaler op, which computes (x - mean) * (1 / scale) in float32.
        # scikit-learn computes (x - mean) / scale in float64 and the trees
        # then compare float32(z) with their thresholds, so a standardised
        # value within an ulp of a threshold can go down the other branch:
        # it does for one breast-cancer test row (probability off by 1.4e-3).
        # 'div_cast' casts the float32 input to double, subtracts and divides
        # in double, then casts back to float: scikit-learn's own arithmetic.
        # The input stays FLOAT.
        id(scaler): {"div": "div_cast"},
    }
    model = convert_sklearn(
        pipe,
        name=spec.name,  # otherwise skl2onnx uses a random uuid as graph name
        initial_types=[("input", FloatTensorType([None, n_features]))],
        final_types=[
            ("label", Int64TensorType([None])),
            ("probabilities", FloatTensorType([None, n_classes])),
        ],
        options=options,
        target_opset=TARGET_OPSET,
    )
    patch_scaler_mean(model, scaler)
    finalize_model(model, spec.name, spec.description, dataset)
    return model


def finalize_model(
    model: onnx.ModelProto,
    name: str,
    description: str,
    dataset: str,
    extra_props: dict[str, str] | None = None,
) -> None:
    """Determinism fixes and metadata shared by every exported model."""
    # skl2onnx collects the opset domains in a set, so their order in
    # opset_import follows Python's per-process string hash seed; sort them.
    opsets = sorted(((o.domain, o.version) for o in model.opset_import))
    del model.opset_import[:]
    for domain, version in opsets:
        model.opset_import.append(onnx.helper.make_opsetid(domain, version))
    model.doc_string = (
        f"infergraph example model {name} v{VERSION}: {description}; "
        f"trained on scikit-learn's {dataset} dataset"
    )
    onnx.helper.set_model_props(
        model,
        {
            "name": name,
            "version": VERSION,
            "dataset": dataset,
            "task": "classification",
            "sklearn_version": sklearn.__version__,
            "skl2onnx_version": skl2onnx.__version__,
            **(extra_props or {}),
        },
    )


def convert_core(
    core: CoreSpec, clf: ClassifierMixin, n_features: int, n_classes: int, dataset: str
) -> onnx.ModelProto:
    """Convert a fitted classifier alone: input `input` is already standardised."""
    model = convert_sklearn(
        clf,
        name=core.name,  # otherwise skl2onnx uses a random uuid as graph name
        initial_types=[("input", FloatTensorType([None, n_features]))],
        final_types=[
            ("label", Int64TensorType([None])),
            ("probabilities", FloatTensorType([None, n_classes])),
        ],
        options={id(clf): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    op_types = [n.op_type for n in model.graph.node]
    # No scaler may sneak in: the input must reach the classifier untouched.
    assert not {"Sub", "Div", "Scaler"} & set(op_types), op_types
    finalize_model(
        model,
        core.name,
        core.description,
        dataset,
        {"parent_model": core.parent, "input_preprocessing": "standardized"},
    )
    return model


def patch_scaler_mean(model: onnx.ModelProto, scaler: StandardScaler) -> None:
    """Put the exact float64 mean into the double-precision Sub.

    skl2onnx 1.20.0 rounds the StandardScaler mean to float32 before casting
    it back to double for the 'div_cast' Sub (the scale is kept exact), so the
    constant is off by up to ~3e-5 for the larger breast-cancer features.
    Replace it with scaler.mean_ so the graph does exactly what scikit-learn
    does.
    """
    inits = {init.name: i for i, init in enumerate(model.graph.initializer)}
    subs = [n for n in model.graph.node if n.op_type == "Sub"]
    assert len(subs) == 1, f"expected one Sub node, got {[n.op_type for n in model.graph.node]}"
    idx = inits[subs[0].input[1]]
    old = numpy_helper.to_array(model.graph.initializer[idx])
    assert old.dtype == np.float64 and old.shape == scaler.mean_.shape
    assert np.allclose(old, scaler.mean_, rtol=1e-6, atol=0)
    model.graph.initializer[idx].CopyFrom(
        numpy_helper.from_array(scaler.mean_.astype(np.float64), model.graph.initializer[idx].name)
    )


def check_contract(sess: ort.InferenceSession, model: onnx.ModelProto, n_features: int, n_classes: int) -> list[str]:
    inputs = sess.get_inputs()
    outputs = sess.get_outputs()
    lines = [f"    input  {i.name!r} {i.type} {i.shape}" for i in inputs]
    lines += [f"    output {o.name!r} {o.type} {o.shape}" for o in outputs]
    got_in = [(i.name, i.type, list(i.shape)) for i in inputs]
    got_out = [(o.name, o.type, list(o.shape)) for o in outputs]
    assert got_in == [("input", "tensor(float)", [None, n_features])], got_in
    assert got_out == [
        ("label", "tensor(int64)", [None]),
        ("probabilities", "tensor(float)", [None, n_classes]),
    ], got_out
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    op_types = {n.op_type for n in model.graph.node}
    assert "ZipMap" not in op_types, op_types
    return lines


# --------------------------------------------------------------------------
# per model


def build(spec: Spec) -> dict[str, Any]:
    t0 = time.time()
    data = dataset_dict(spec.dataset)
    X, y = data["X"], data["y"]
    features, classes = data["features"], data["classes"]
    n_features, n_classes = len(features), len(classes)

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=y
    )

    pipe = Pipeline([("scaler", StandardScaler()), ("clf", spec.make_classifier())])
    with warnings.catch_warnings():
        # digits-mlp / iris-mlp may stop at max_iter: that is the spec.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        pipe.fit(X_train, y_train)
    sklearn_acc = float(np.mean(pipe.predict(X_test) == y_test))

    model = convert(spec, pipe, n_features, n_classes, spec.dataset)
    onnx.checker.check_model(model, full_check=True)
    model_bytes = model.SerializeToString()

    sess = session(model_bytes)
    contract_lines = check_contract(sess, model, n_features, n_classes)

    # The float32 rows every comparison (and golden.json) is made on.
    X_test32 = X_test.astype(np.float32)
    onnx_labels, onnx_probs = sess.run(["label", "probabilities"], {"input": X_test32})
    assert onnx_labels.dtype == np.int64 and onnx_labels.shape == (len(X_test),), onnx_labels.shape
    assert onnx_probs.dtype == np.float32 and onnx_probs.shape == (len(X_test), n_classes), onnx_probs.shape
    onnx_acc = float(np.mean(onnx_labels == y_test))

    X_test32_as64 = X_test32.astype(np.float64)
    sk_labels = pipe.predict(X_test32_as64).astype(np.int64)
    sk_probs = pipe.predict_proba(X_test32_as64).astype(np.float64)
    mismatched = np.flatnonzero(onnx_labels != sk_labels)
    assert mismatched.size == 0, f"{spec.name}: label mismatch on test rows {mismatched.tolist()}"
    max_diff = float(np.max(np.abs(onnx_probs.astype(np.float64) - sk_probs)))
    assert max_diff < PROB_TOLERANCE, f"{spec.name}: max |prob diff| {max_diff} >= {PROB_TOLERANCE}"
    if spec.max_size_bytes is not None:
        assert len(model_bytes) < spec.max_size_bytes, f"{spec.name}: {len(model_bytes)} bytes"

    digest = sha256_hex(model_bytes)
    out_dir = MODELS_DIR / spec.name / VERSION
    write_bytes(out_dir / "model.onnx", model_bytes)

    scaler: StandardScaler = pipe.named_steps["scaler"]
    meta = {
        "name": spec.name,
        "version": VERSION,
        "dataset": spec.dataset,
        "task": "classification",
        "features": features,
        "classes": classes,
        "split": {
            "test_size": TEST_SIZE,
            "random_state": RANDOM_STATE,
            "stratified": True,
            "n_train": int(len(X_train)),
            "n_test": int(len(X_test)),
        },
        "heldOutAccuracy": onnx_acc,
        "sklearnHeldOutAccuracy": sklearn_acc,
        "sha256": digest,
        "sizeBytes": len(model_bytes),
        "input": {"name": "input", "datatype": "FP32", "shape": [-1, n_features]},
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, n_classes]},
        ],
        "scaler": {
            "mean": [float(v) for v in scaler.mean_],
            "scale": [float(v) for v in scaler.scale_],
        },
        "versions": VERSIONS,
    }
    write_text(out_dir / "model.json", to_json(meta) + "\n")

    n_golden = len(X_test) if spec.golden_rows is None else spec.golden_rows
    golden = {
        "model": spec.name,
        "inputName": "input",
        "features": n_features,
        "rows": [[float(v) for v in row] for row in X_test32[:n_golden]],
        "labels": [int(v) for v in sk_labels[:n_golden]],
        "probabilities": [[float(v) for v in row] for row in sk_probs[:n_golden]],
    }
    # The stored rows must be exactly the float32 values the model was fed.
    assert np.array_equal(np.asarray(golden["rows"], dtype=np.float32), X_test32[:n_golden])
    write_text(out_dir / "golden.json", to_json(golden) + "\n")

    if spec.reference_csv:
        with open(out_dir / "reference.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(features)
            for row in X_train:
                writer.writerow([repr(float(v)) for v in row])

    info = {
        "spec": spec,
        "meta": meta,
        "max_diff": max_diff,
        "n_golden": n_golden,
        "contract_lines": contract_lines,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "ops": sorted({n.op_type for n in model.graph.node}),
        "seconds": time.time() - t0,
        # for the core models derived from this one (not written anywhere)
        "pipe": pipe,
        "model": model,
        "y_test": y_test,
        "X_test32": X_test32,
        "onnx_labels": onnx_labels,
        "onnx_probs": onnx_probs,
        "sk_labels": sk_labels,
        "sk_probs": sk_probs,
        "golden": golden,
    }
    write_text(out_dir / "MODEL_CARD.md", model_card(info))
    return info


def linear_classifier_attrs(model: onnx.ModelProto) -> list[bytes]:
    nodes = [n for n in model.graph.node if n.op_type == "LinearClassifier"]
    assert len(nodes) == 1, [n.op_type for n in model.graph.node]
    return sorted(a.SerializeToString() for a in nodes[0].attribute)


def standardize(X32: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """What the graph's transformer node does: (x - mean) / scale in float64, rounded to float32."""
    assert X32.dtype == np.float32 and mean.dtype == np.float64 and scale.dtype == np.float64
    return ((X32.astype(np.float64) - mean) / scale).astype(np.float32)


def build_core(core: CoreSpec, parent: dict[str, Any]) -> dict[str, Any]:
    t0 = time.time()
    pspec: Spec = parent["spec"]
    pmeta = parent["meta"]
    pipe: Pipeline = parent["pipe"]
    scaler: StandardScaler = pipe.named_steps["scaler"]
    clf = pipe.named_steps["clf"]  # the fitted estimator itself: not refitted, not copied
    features, classes = pmeta["features"], pmeta["classes"]
    n_features, n_classes = len(features), len(classes)

    model = convert_core(core, clf, n_features, n_classes, pspec.dataset)
    onnx.checker.check_model(model, full_check=True)
    model_bytes = model.SerializeToString()
    # Same estimator: the LinearClassifier (coefficients, intercepts, ...) is
    # the one inside the parent's model.onnx, attribute for attribute.
    assert linear_classifier_attrs(model) == linear_classifier_attrs(parent["model"]), core.name

    sess = session(model_bytes)
    contract_lines = check_contract(sess, model, n_features, n_classes)

    mean = np.asarray(scaler.mean_, dtype=np.float64)
    scale = np.asarray(scaler.scale_, dtype=np.float64)
    X_test32 = parent["X_test32"]  # raw float32 held-out rows
    y_test = parent["y_test"]
    Z_test32 = standardize(X_test32, mean, scale)
    # ...which is exactly what scikit-learn's own scaler (and the parent's
    # 'div_cast' graph) computes on those rows.
    assert np.array_equal(Z_test32, scaler.transform(X_test32.astype(np.float64)).astype(np.float32))

    labels, probs = sess.run(["label", "probabilities"], {"input": Z_test32})
    assert labels.dtype == np.int64 and labels.shape == (len(X_test32),), labels.shape
    assert probs.dtype == np.float32 and probs.shape == (len(X_test32), n_classes), probs.shape
    onnx_acc = float(np.mean(labels == y_test))

    # (1) against scikit-learn's pipeline outputs on the raw rows (the golden)
    sk_labels, sk_probs = parent["sk_labels"], parent["sk_probs"]
    mismatched = np.flatnonzero(labels != sk_labels)
    assert mismatched.size == 0, f"{core.name}: label mismatch vs scikit-learn on rows {mismatched.tolist()}"
    max_diff = float(np.max(np.abs(probs.astype(np.float64) - sk_probs)))
    assert max_diff < PROB_TOLERANCE, f"{core.name}: max |prob diff| {max_diff} >= {PROB_TOLERANCE}"

    # (2) against the full parent ONNX model on the same raw rows
    mismatched = np.flatnonzero(labels != parent["onnx_labels"])
    assert mismatched.size == 0, f"{core.name}: label mismatch vs {core.parent} on rows {mismatched.tolist()}"
    max_diff_parent = float(np.max(np.abs(probs.astype(np.float64) - parent["onnx_probs"].astype(np.float64))))
    assert max_diff_parent < PROB_TOLERANCE, f"{core.name}: max |prob diff| vs {core.parent} {max_diff_parent}"

    # (3) against the scikit-learn estimator alone on the same float32 standardised rows
    clf_probs = clf.predict_proba(Z_test32.astype(np.float64))
    assert np.array_equal(clf.predict(Z_test32.astype(np.float64)), labels)
    max_diff_clf = float(np.max(np.abs(probs.astype(np.float64) - clf_probs)))
    assert max_diff_clf < PROB_TOLERANCE, f"{core.name}: max |prob diff| vs sklearn clf {max_diff_clf}"

    # golden.json: the parent's raw rows and scikit-learn pipeline outputs, unchanged.
    pgolden = parent["golden"]
    golden = {**pgolden, "model": core.name}
    n_golden = len(golden["rows"])
    rows32 = np.asarray(golden["rows"], dtype=np.float32)
    assert np.array_equal(rows32, X_test32[:n_golden])
    g_labels, g_probs = sess.run(["label", "probabilities"], {"input": standardize(rows32, mean, scale)})
    assert g_labels.tolist() == golden["labels"]
    max_diff_golden = float(np.max(np.abs(g_probs.astype(np.float64) - np.asarray(golden["probabilities"]))))
    assert max_diff_golden < PROB_TOLERANCE, max_diff_golden

    digest = sha256_hex(model_bytes)
    out_dir = MODELS_DIR / core.name / VERSION
    write_bytes(out_dir / "model.onnx", model_bytes)

    meta = {
        "name": core.name,
        "version": VERSION,
        "dataset": pmeta["dataset"],
        "task": "classification",
        "features": features,
        "classes": classes,
        "split": pmeta["split"],
        "heldOutAccuracy": onnx_acc,
        "sklearnHeldOutAccuracy": pmeta["sklearnHeldOutAccuracy"],
        "sha256": digest,
        "sizeBytes": len(model_bytes),
        "input": {"name": "input", "datatype": "FP32", "shape": [-1, n_features]},
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, n_classes]},
        ],
        "inputPreprocessing": "standardized",
        "scaler": {
            "mean": [float(v) for v in mean],
            "scale": [float(v) for v in scale],
        },
        "versions": VERSIONS,
    }
    assert meta["scaler"] == pmeta["scaler"], "core scaler differs from the parent's"
    write_text(out_dir / "model.json", to_json(meta) + "\n")
    write_text(out_dir / "golden.json", to_json(golden) + "\n")

    info = {
        "core": core,
        "parent_spec": pspec,
        "meta": meta,
        "max_diff": max_diff,
        "max_diff_parent": max_diff_parent,
        "max_diff_clf": max_diff_clf,
        "n_golden": n_golden,
        "contract_lines": contract_lines,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "ops": sorted({n.op_type for n in model.graph.node}),
        "seconds": time.time() - t0,
    }
    write_text(out_dir / "MODEL_CARD.md", core_model_card(info))
    return info


# --------------------------------------------------------------------------
# docs


def model_card(info: dict[str, Any]) -> str:
    spec: Spec = info["spec"]
    m = info["meta"]
    split = m["split"]
    n_features = len(m["features"])
    n_classes = len(m["classes"])
    opsets = ", ".join(f"{k} {v}" for k, v in sorted(info["opsets"].items()))
    lines = [
        f"# {m['name']} (version {m['version']})",
        "",
        f"{spec.description}, trained on scikit-learn's bundled `{m['dataset']}` dataset.",
        "Generated by `scripts/models/train.py` (run `bash scripts/models/train.sh`); do not edit by hand.",
        "",
        "| | |",
        "|---|---|",
        f"| dataset | `{m['dataset']}` ({n_features} features, {n_classes} classes: {', '.join(m['classes'])}) |",
        f"| split | stratified, test_size={split['test_size']}, random_state={split['random_state']}: "
        f"{split['n_train']} train / {split['n_test']} test rows |",
        f"| held-out accuracy (ONNX, onnxruntime {m['versions']['onnxruntime']}, float32 input) | {m['heldOutAccuracy']:.4f} |",
        f"| held-out accuracy (scikit-learn {m['versions']['sklearn']}, original float64 rows) "
        f"| {m['sklearnHeldOutAccuracy']:.4f} |",
        f"| max abs probability difference ONNX vs scikit-learn (all test rows) | {info['max_diff']:.3g} |",
        f"| model.onnx size | {m['sizeBytes']} bytes |",
        f"| sha256 | `{m['sha256']}` |",
        f"| ONNX | IR version {info['ir_version']}, opsets {opsets}; ops: {', '.join(info['ops'])} |",
        "",
    ]
    if m["heldOutAccuracy"] != m["sklearnHeldOutAccuracy"]:
        lines += [
            "The two accuracies differ because the features lie on a coarse grid (iris: 0.1 cm), so some",
            "test values sit exactly on a tree split threshold, and whether the row is fed as float64 or",
            "float32 decides the branch. On the same float32 rows scikit-learn and onnxruntime agree on",
            "every label.",
            "",
        ]
    lines += [
        "## Contract",
        "",
        f"- input `input`: FP32 `[N, {n_features}]`, N dynamic; raw (unscaled) features in the order of "
        "`features` in `model.json`. Standardisation is inside the graph.",
        "- output `label`: INT64 `[N]`, the index into `classes` in `model.json`.",
        f"- output `probabilities`: FP32 `[N, {n_classes}]`, a plain tensor (no ZipMap), one column per class.",
        "",
        "## Files",
        "",
        "- `model.json`: metadata, including the fitted scaler's `mean` / `scale`.",
        f"- `golden.json`: {info['n_golden']} float32 test rows with scikit-learn's labels and probabilities "
        "(onnxruntime matches labels exactly and probabilities within 1e-5).",
    ]
    if spec.reference_csv:
        lines.append(
            f"- `reference.csv`: the {split['n_train']} training rows' raw features, for drift/outlier detectors."
        )
    lines += [
        "",
        "## Intended use",
        "",
        "Example and test model for the infergraph inference-graph engine: serving, graph, golden-output "
        "and benchmark tests. Not for any real-world decision.",
        "",
        "## Limitations",
        "",
        f"- Small public toy dataset; the accuracy is measured on only {split['n_test']} held-out rows "
        "and says nothing about other data.",
        "- No calibration, fairness or robustness evaluation was done.",
        "- Inputs outside the training range are not detected by the model itself.",
    ]
    if m["dataset"] == "breast_cancer":
        lines.append("- A medical dataset used as a toy: never use this model for diagnosis.")
    return "\n".join(lines) + "\n"


def core_model_card(info: dict[str, Any]) -> str:
    core: CoreSpec = info["core"]
    pspec: Spec = info["parent_spec"]
    m = info["meta"]
    split = m["split"]
    n_features = len(m["features"])
    n_classes = len(m["classes"])
    opsets = ", ".join(f"{k} {v}" for k, v in sorted(info["opsets"].items()))
    mean = ", ".join(json.dumps(v) for v in m["scaler"]["mean"])
    scale = ", ".join(json.dumps(v) for v in m["scaler"]["scale"])
    lines = [
        f"# {m['name']} (version {m['version']})",
        "",
        f"{core.description[0].upper()}{core.description[1:]}.",
        f"The classifier is the very estimator fitted inside `{core.parent}` v{VERSION} ({pspec.description}, "
        f"trained on scikit-learn's bundled `{m['dataset']}` dataset), converted on its own, not retrained: "
        "its coefficients and intercepts are identical to those in "
        f"`models/{core.parent}/{VERSION}/model.onnx`.",
        "Generated by `scripts/models/train.py` (run `bash scripts/models/train.sh`); do not edit by hand.",
        "",
        "| | |",
        "|---|---|",
        f"| dataset | `{m['dataset']}` ({n_features} features, {n_classes} classes: {', '.join(m['classes'])}) |",
        f"| split | stratified, test_size={split['test_size']}, random_state={split['random_state']}: "
        f"{split['n_train']} train / {split['n_test']} test rows (the parent's) |",
        f"| held-out accuracy (ONNX, onnxruntime {m['versions']['onnxruntime']}, raw float32 rows standardised "
        f"as below) | {m['heldOutAccuracy']:.4f} |",
        f"| held-out accuracy (scikit-learn {m['versions']['sklearn']} pipeline, original float64 rows) "
        f"| {m['sklearnHeldOutAccuracy']:.4f} |",
        f"| max abs probability difference vs scikit-learn's pipeline (all test rows) | {info['max_diff']:.3g} |",
        f"| max abs probability difference vs `{core.parent}` model.onnx on the raw rows | "
        f"{info['max_diff_parent']:.3g} |",
        f"| model.onnx size | {m['sizeBytes']} bytes |",
        f"| sha256 | `{m['sha256']}` |",
        f"| ONNX | IR version {info['ir_version']}, opsets {opsets}; ops: {', '.join(info['ops'])} |",
        "",
        "## Contract",
        "",
        f"- input `input`: FP32 `[N, {n_features}]`, N dynamic; **already standardised** features in the order "
        "of `features` in `model.json` (`inputPreprocessing: \"standardized\"`). There is no scaler in the "
        "graph: raw features give wrong outputs, silently.",
        "- output `label`: INT64 `[N]`, the index into `classes` in `model.json`.",
        f"- output `probabilities`: FP32 `[N, {n_classes}]`, a plain tensor (no ZipMap), one column per class.",
        "",
        "## Standardisation",
        "",
        "Feed `z = float32((float64(x) - mean) / scale)` per feature, where `x` is the raw FP32 row and",
        f"`mean` / `scale` are the `{core.parent}` pipeline's fitted StandardScaler `mean_` / `scale_` (float64,",
        "also in `model.json` under `scaler`):",
        "",
        "```",
        f"mean  = [{mean}]",
        f"scale = [{scale}]",
        "```",
        "",
        "Subtract and divide in float64 (not multiply by 1/scale, not in float32), then round once to float32:",
        f"that is what scikit-learn's StandardScaler and `{core.parent}`'s in-graph `div_cast` scaler compute,",
        f"so this model then reproduces `{core.parent}` exactly.",
        "",
        "## Files",
        "",
        "- `model.json`: metadata, including the scaler `mean` / `scale` above and `inputPreprocessing`.",
        f"- `golden.json`: the same {info['n_golden']} **raw** float32 test rows, labels and probabilities as "
        f"`{core.parent}`'s golden.json (scikit-learn's pipeline outputs). Standardise the rows as above before "
        "feeding them to this model; onnxruntime then matches the labels exactly and the probabilities within 1e-5.",
        "",
        "## Intended use",
        "",
        "Example and test model for the infergraph inference-graph engine: graphs that standardise the raw "
        "features in a transformer node and feed the result to this model. Not for any real-world decision.",
        "",
        "## Limitations",
        "",
        f"- Small public toy dataset; the accuracy is measured on only {split['n_test']} held-out rows "
        "and says nothing about other data.",
        "- No calibration, fairness or robustness evaluation was done.",
        "- Inputs outside the training range, or inputs that were not standardised, are not detected by the model "
        "itself.",
    ]
    return "\n".join(lines) + "\n"


def models_readme(infos: list[dict[str, Any]]) -> str:
    lines = [
        "# Example models",
        "",
        "ONNX classifiers used by infergraph's examples, tests and benchmarks. Every file under",
        "`models/` is generated; do not edit by hand. To regenerate (idempotent, byte-identical output):",
        "",
        "```sh",
        "bash scripts/models/train.sh",
        "```",
        "",
        "It creates `.cache/venv-models` with the pinned `scripts/models/requirements.txt`, builds the test",
        "fixtures (`scripts/models/make_fixtures.py`) and runs `scripts/models/train.py`.",
        "",
        "Each model lives in `models/<name>/1/`: `model.onnx`, `model.json` (metadata), `MODEL_CARD.md`,",
        "`golden.json` (float32 test rows with scikit-learn's outputs) and, for the drift/outlier examples,",
        "`reference.csv` (raw training rows). All are `Pipeline(StandardScaler, classifier)` with input",
        "`input` FP32 `[N, F]` and outputs `label` INT64 `[N]`, `probabilities` FP32 `[N, C]`, except the",
        "`-core` models: the classifier step of an already-fitted pipeline converted alone (not retrained), with",
        "the same input and outputs but no scaler, so `input` must already be standardised",
        "(`\"inputPreprocessing\": \"standardized\"` in model.json; compute `(x - mean) / scale` in float64 with",
        "model.json's `scaler`, then round to float32). Their golden.json is the parent's: raw rows and the",
        "pipeline's outputs.",
        "",
        f"Split: stratified, test_size={TEST_SIZE}, random_state={RANDOM_STATE}. Accuracy is onnxruntime's "
        "on the float32-cast held-out rows;",
        "the sklearn column is scikit-learn's on the original float64 rows",
        "(iris-rf differs by one row: iris values lie on a 0.1 cm grid, so some sit exactly on a split",
        "threshold and float32 rounding decides the branch; see its MODEL_CARD.md).",
        "",
        "| model | dataset | F | C | train / test | held-out accuracy | sklearn (float64) | size (bytes) | sha256 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for info in infos:
        m = info["meta"]
        lines.append(
            f"| `{m['name']}` | `{m['dataset']}` | {len(m['features'])} | {len(m['classes'])} "
            f"| {m['split']['n_train']} / {m['split']['n_test']} | {m['heldOutAccuracy']:.4f} "
            f"| {m['sklearnHeldOutAccuracy']:.4f} | {m['sizeBytes']} | `{m['sha256']}` |"
        )
    v = VERSIONS
    lines += [
        "",
        f"Built with scikit-learn {v['sklearn']}, skl2onnx {v['skl2onnx']}, onnx {v['onnx']}, "
        f"onnxruntime {v['onnxruntime']}.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------


def main() -> int:
    log(
        "versions: " + ", ".join(f"{k} {v}" for k, v in VERSIONS.items())
        + f", numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    infos = []
    for spec in SPECS:
        log(f"{spec.name}: training on {spec.dataset}…")
        info = build(spec)
        m = info["meta"]
        log(
            f"{spec.name}: ok in {info['seconds']:.1f}s, accuracy {m['heldOutAccuracy']:.4f} "
            f"(sklearn {m['sklearnHeldOutAccuracy']:.4f}), max |prob diff| {info['max_diff']:.3g}, "
            f"{m['sizeBytes']} bytes"
        )
        for line in info["contract_lines"]:
            print(line, flush=True)
        infos.append(info)

    for core in CORE_SPECS:
        log(f"{core.name}: converting {core.parent}'s fitted classifier alone…")
        parent_idx = next(i for i, inf in enumerate(infos) if inf["meta"]["name"] == core.parent)
        info = build_core(core, infos[parent_idx])
        m = info["meta"]
        log(
            f"{core.name}: ok in {info['seconds']:.1f}s, accuracy {m['heldOutAccuracy']:.4f} on standardised "
            f"raw rows; max |prob diff| vs sklearn pipeline {info['max_diff']:.3g}, "
            f"vs {core.parent} ONNX {info['max_diff_parent']:.3g}, "
            f"vs sklearn clf alone {info['max_diff_clf']:.3g}; {m['sizeBytes']} bytes"
        )
        for line in info["contract_lines"]:
            print(line, flush=True)
        # listed right after its parent
        infos.insert(parent_idx + 1, info)

    write_text(MODELS_DIR / "README.md", models_readme(infos))

    header = (
        f"{'model':<18} {'accuracy':>8} {'sklearn':>8} {'max|dp|':>9} {'vs parent':>9} {'bytes':>9}  sha256"
    )
    print()
    print(header)
    print("-" * len(header))
    for info in infos:
        m = info["meta"]
        vs_parent = f"{info['max_diff_parent']:>9.2e}" if "max_diff_parent" in info else f"{'-':>9}"
        print(
            f"{m['name']:<18} {m['heldOutAccuracy']:>8.4f} {m['sklearnHeldOutAccuracy']:>8.4f} "
            f"{info['max_diff']:>9.2e} {vs_parent} {m['sizeBytes']:>9}  {m['sha256'][:16]}"
        )
    print()
    print(
        "max|dp|: max |probability diff| vs scikit-learn's pipeline on the float32 test rows; vs parent: "
        "a -core model (fed the standardised raw rows) vs its parent's full ONNX model (fed the raw rows)."
    )
    for info in infos:
        if "core" in info:
            s = info["meta"]["scaler"]
            print(f"{info['meta']['name']}: input standardised with mean={s['mean']} scale={s['scale']}")
    print()
    log(f"wrote {len(infos)} models to {MODELS_DIR.relative_to(REPO_ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
