"""FastAPI + onnxruntime baseline of bench/serving.bench.ts: the same V2 JSON contract as the hand-written
Node server (bench/servers/node-ort.server.ts), written the way the FastAPI docs suggest: pydantic request
models, a plain `def` endpoint (blocking onnxruntime work runs in FastAPI's thread pool), one uvicorn
worker with uvloop and httptools.

    .cache/venv-bench/bin/python bench/servers/fastapi_ort.py <model.onnx> <model name> <port>
"""

import sys
from typing import Any

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

NUMPY_TYPE = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64}
V2_TYPE = {"float32": "FP32", "float64": "FP64", "int32": "INT32", "int64": "INT64"}


class RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]


class InferenceRequest(BaseModel):
    inputs: list[RequestInput]


def create_app(model_path: str, model_name: str) -> FastAPI:
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    output_names = [o.name for o in session.get_outputs()]
    app = FastAPI()

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.post(f"/v2/models/{model_name}/infer")
    def infer(request: InferenceRequest) -> dict[str, Any]:
        try:
            feeds = {
                i.name: np.asarray(i.data, dtype=NUMPY_TYPE[i.datatype]).reshape(i.shape)
                for i in request.inputs
            }
        except (KeyError, ValueError) as err:
            raise HTTPException(status_code=400, detail=str(err)) from err
        results = session.run(output_names, feeds)
        return {
            "model_name": model_name,
            "outputs": [
                {
                    "name": name,
                    "shape": list(value.shape),
                    "datatype": V2_TYPE.get(str(value.dtype), str(value.dtype)),
                    "data": value.ravel().tolist(),
                }
                for name, value in zip(output_names, results)
            ],
        }

    return app


if __name__ == "__main__":
    model_path, model_name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uvicorn.run(
        create_app(model_path, model_name),
        host="127.0.0.1",
        port=port,
        workers=1,
        log_level="warning",
        access_log=False,
    )
