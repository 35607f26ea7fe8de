"""Export a sentence-transformers model to ONNX once, into a folder of the user's data dir.

The export is the only step of the ONNX path that needs torch: it traces the whole model
(transformer, pooling, normalisation, whatever modules the model has) into one graph with
dynamic batch and length, saves its fast tokenizer beside it, and keeps the result only if
ONNX Runtime reproduces the torch embeddings on probe texts. Nothing is downloaded: the model
is loaded from where the torch path would load it.

The folder is written under a temporary name and renamed into place, so a crash or a second
process exporting at the same time never leaves a half-written export that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import ModelLoadError

EXPORT_FORMAT = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "byline-onnx.json"
# An export is kept only if every probe text embeds this close to torch (the issue asks for
# 0.999 on real questions; the probe is stricter so that a bad graph never gets that far).
PROBE_MIN_COSINE = 0.9999
# Probe texts of different lengths in one batch, so padding and the attention mask are checked.
_PROBES = (
    "When will Antony Blinken visit China?",
    "WHO",
    "The World Health Organization said the EG.5 variant posed a low risk to public health "
    "globally, but added that it may cause a rise in cases and become dominant in some "
    "countries or even globally.",
)


@dataclass(frozen=True)
class OnnxExport:
    """What an export folder holds, read from its metadata file."""

    folder: Path
    model_id: str
    dimension: int
    max_tokens: int
    input_names: tuple[str, ...]
    lowercase: bool

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / TOKENIZER_FILE


def export_folder(models_dir: Path, model_id: str, load_path: str) -> Path:
    """Where the export of this model lives: its name plus a fingerprint of its files, so a
    changed local model (or the bundled one in another version) is exported again."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id.strip("/"))[-60:] or "model"
    digest = hashlib.sha256(f"{EXPORT_FORMAT}\0{model_id}".encode())
    source = Path(load_path)
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(f"\0{path.relative_to(source)}\0{stat.st_size}".encode())
    return Path(models_dir) / f"{slug}-onnx-{digest.hexdigest()[:12]}"


def read_export(folder: Path) -> OnnxExport | None:
    """The export in ``folder``, or None where there is none (or one of another format)."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("format") != EXPORT_FORMAT or not (folder / MODEL_FILE).is_file():
        return None
    return OnnxExport(
        folder=folder,
        model_id=str(meta["model_id"]),
        dimension=int(meta["dimension"]),
        max_tokens=int(meta["max_tokens"]),
        input_names=tuple(meta["input_names"]),
        lowercase=bool(meta.get("lowercase", False)),
    )


def export_model(model_id: str, load_path: str, folder: Path) -> OnnxExport:
    """Export the model at ``load_path`` into ``folder`` (replacing nothing that exists)."""
    existing = read_export(folder)
    if existing is not None:
        return existing
    try:
        model = _load_torch_model(load_path)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".export-") as scratch:
            staged = Path(scratch) / "export"
            staged.mkdir()
            export = _write_export(model, model_id, staged)
            _check_against_torch(model, export)
            try:
                os.replace(staged, folder)
            except OSError:
                # Another process finished the same export first; theirs is as good.
                if read_export(folder) is None:
                    raise
    except ModelLoadError:
        raise
    except Exception as error:  # torch's exporter raises many kinds; all mean "no export"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelLoadError(
            f"cannot export {model_id!r} to ONNX ({reason}); "
            "set BYLINE_QUERY_BACKEND=torch to skip the ONNX path"
        ) from error
    found = read_export(folder)
    if found is None:
        raise ModelLoadError(f"the ONNX export in {folder} is unreadable; delete that folder")
    return found


def _load_torch_model(load_path: str) -> Any:
    local = Path(load_path).exists()
    if local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(load_path, device="cpu", local_files_only=local)


def _write_export(model: Any, model_id: str, folder: Path) -> OnnxExport:
    import torch

    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{model_id!r} has no fast tokenizer, which the ONNX path needs; "
            "set BYLINE_QUERY_BACKEND=torch"
        )
    names = tuple(name for name in tokenizer.model_input_names)
    sample = tokenizer(list(_PROBES[:2]), padding=True, return_tensors="pt")

    class _Whole(torch.nn.Module):
        """The model's own forward (every module) with positional inputs, for tracing."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *tensors: Any) -> Any:
            features = dict(zip(names, tensors, strict=True))
            return self.inner(features)["sentence_embedding"]

    dynamic = {name: {0: "batch", 1: "tokens"} for name in names}
    dynamic["embedding"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes are for exporter authors
        # The TorchScript exporter: it needs only the `onnx` package, where the newer
        # dynamo exporter needs onnxscript too and was no better for a BERT-sized encoder.
        torch.onnx.export(
            _Whole().eval(),
            tuple(sample[name] for name in names),
            str(folder / MODEL_FILE),
            input_names=list(names),
            output_names=["embedding"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
    first = model[0]
    meta = {
        "format": EXPORT_FORMAT,
        "model_id": model_id,
        "dimension": int(model.get_embedding_dimension()),
        "max_tokens": int(model.max_seq_length),
        "input_names": list(names),
        "lowercase": bool(getattr(first, "do_lower_case", False)),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    export = read_export(folder)
    if export is None:
        raise ModelLoadError(f"the ONNX export in {folder} is incomplete")
    return export


def _check_against_torch(model: Any, export: OnnxExport) -> None:
    from embeddings.onnx_encoder import OnnxEncoder

    expected = model.encode(list(_PROBES), convert_to_numpy=True, normalize_embeddings=True)
    got = OnnxEncoder(export).encode(list(_PROBES))
    cosines = np.sum(expected * got, axis=1)
    if float(cosines.min()) < PROBE_MIN_COSINE:
        raise ModelLoadError(
            f"the ONNX export of {export.model_id!r} differs from torch (cosine "
            f"{float(cosines.min()):.5f} < {PROBE_MIN_COSINE}); set BYLINE_QUERY_BACKEND=torch"
        )
