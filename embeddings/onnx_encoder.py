"""Question-side encoding on ONNX Runtime, without torch, transformers or scikit-learn.

A question is a few dozen word pieces; torch spends most of its ~30 ms on framework overhead
for that, and importing sentence-transformers costs seconds on every `byline ask`. ONNX
Runtime runs the same graph (exported once by embeddings/onnx_export.py into the user's data
folder) in a few milliseconds, with the model's own fast tokenizer from the `tokenizers`
package. Documents are still embedded by the torch encoder at build time.

``load_query_encoder`` chooses the backend: "onnx", "torch", or "auto" (ONNX where
onnxruntime is installed and the export works, else torch with a one-line note).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.encoder import Encoder, ProgressCallback, _unit_rows, load_encoder, resolve_model
from embeddings.errors import ModelLoadError
from embeddings.onnx_export import OnnxExport, export_folder, export_model, read_export
from embeddings.padding import pad_rows, padded_batches

BACKENDS = ("auto", "torch", "onnx")
"""Values of the query backend setting (BYLINE_QUERY_BACKEND)."""

if TYPE_CHECKING:
    from tokenizers import Encoding

log = logging.getLogger(__name__)

# Word pieces one ONNX call may hold once padded (rows x the longest row). Measured on 40
# sentences of the bundled archive (12-130 word pieces), one thread: 1,075 ms in batches of
# 32, 248 ms with 256 (the model's longest input), 250-270 ms anywhere from 128 to 384.
PADDED_TOKENS = 256


class OnnxEncoder(Encoder):
    """An :class:`Encoder` for questions and short batches, running an ONNX export.

    Thread safe without a lock: ONNX Runtime allows concurrent ``run`` calls on one session,
    so several questions are encoded at once, one core each.
    """

    # Encoder.__init__ is not called: it loads the torch model, which is what this avoids.
    def __init__(self, export: OnnxExport) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.model_id = export.model_id
        self.dimension = export.dimension
        self.max_tokens = export.max_tokens
        self.device = "cpu"
        self.precision = "float32"
        self.batch_size = 32
        self.padded_tokens = PADDED_TOKENS
        self._lowercase = export.lowercase
        self._names = export.input_names
        self._tokenizer = Tokenizer.from_file(str(export.tokenizer_path))
        # Saved tokenizers may carry a fixed padding length; pad per batch instead, as
        # sentence-transformers does, and truncate where the model does.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        options = onnxruntime.SessionOptions()
        # One thread a call: a question gains nothing from a second one (waking it costs more
        # than the work on a busy machine), and concurrent questions then use a core each.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initializers are noise here
        self._session = onnxruntime.InferenceSession(
            str(export.model_path), options, providers=["CPUExecutionProvider"]
        )

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encoded = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(item.ids) for item in encoded]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        encoded = self._tokenizer.encode(text, add_special_tokens=False)
        return [(int(start), int(end)) for start, end in encoded.offsets]

    def encode(
        self, texts: Sequence[str], *, progress: bool | ProgressCallback = False
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Like sentence-transformers: strip, and lowercase where the model asks for it.
        cleaned = [str(text).strip() for text in texts]
        if self._lowercase:
            cleaned = [text.lower() for text in cleaned]
        encoded = self._tokenizer.encode_batch(cleaned)
        # Batches bounded by their padded word pieces (embeddings/padding.py), restored to
        # input order at the end.
        batches = padded_batches(
            [len(item.ids) for item in encoded], self.batch_size, self.padded_tokens
        )
        result = np.empty((len(cleaned), self.dimension), dtype=np.float32)
        done = 0
        for rows in batches:
            result[rows] = self._run([encoded[i] for i in rows])
            done += len(rows)
            if callable(progress):
                progress(done, len(cleaned))
        return result

    def _run(self, encoded: list[Encoding]) -> np.ndarray:
        columns = {
            "input_ids": [item.ids for item in encoded],
            "attention_mask": [item.attention_mask for item in encoded],
            "token_type_ids": [item.type_ids for item in encoded],
        }
        arrays = pad_rows(
            {name: columns[name] for name in self._names},
            range(len(encoded)),
            pad_id=0,
            left=False,
        )
        (vectors,) = self._session.run(["embedding"], arrays)
        return _unit_rows(vectors)


def resolve_backend(backend: str | None) -> str:
    """'auto', 'torch' or 'onnx'; None or '' is 'auto'."""
    if backend in (None, ""):
        return "auto"
    if backend not in BACKENDS:
        raise ModelLoadError(
            f"the query backend must be one of {', '.join(BACKENDS)}, got {backend!r}; "
            "e.g. BYLINE_QUERY_BACKEND=auto"
        )
    return str(backend)


def load_query_encoder(
    model: str | None,
    device: str | None = None,
    *,
    backend: str | None = "auto",
    models_dir: Path | None = None,
) -> Encoder:
    """The encoder for questions: ONNX (exported into ``models_dir`` on first use) or torch.

    "auto" uses ONNX whenever it works, on any device: one question on a CPU core is faster
    than a trip to a GPU. It falls back to torch, with a one-line note, where onnxruntime is
    missing, ``models_dir`` is None, or the export fails or differs from torch.
    """
    chosen = resolve_backend(backend)
    if chosen == "torch" or (chosen == "auto" and models_dir is None):
        return load_encoder(model, device)
    if models_dir is None:
        raise ModelLoadError("the ONNX query backend needs a models folder; set BYLINE_HOME")
    try:
        return _load_onnx(model, Path(models_dir))
    except (ImportError, ModelLoadError) as error:
        if chosen == "onnx":
            if isinstance(error, ImportError):
                raise ModelLoadError(
                    f"BYLINE_QUERY_BACKEND=onnx needs onnxruntime ({error}); "
                    "run `pip install onnxruntime` or set BYLINE_QUERY_BACKEND=torch"
                ) from error
            raise
        log.warning("note: questions are encoded with torch: %s", _first_line(error))
        return load_encoder(model, device)


@lru_cache(maxsize=4)
def _load_onnx(model: str | None, models_dir: Path) -> OnnxEncoder:
    import onnxruntime  # noqa: F401  (fail here, before an export that could not be used)

    model_id, load_path = resolve_model(model)
    folder = export_folder(models_dir, model_id, load_path)
    export = read_export(folder) or export_model(model_id, load_path, folder)
    return OnnxEncoder(export)


def _first_line(error: BaseException) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__
