"""Precision selection: bfloat16 only where the CPU does it natively, float32 otherwise, and
float32 unit vectors out whatever the model ran in."""

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import (
    bf16_matmul_time_share,
    cpu_flags,
    load_encoder,
    resolve_precision,
    usable_cpu_flags,
)
from embeddings.errors import ModelLoadError

AVX2_ONLY = frozenset({"fpu", "sse2", "avx", "avx2", "fma"})
SAPPHIRE_RAPIDS = AVX2_ONLY | {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}


def test_auto_without_bf16_flags_is_float32() -> None:
    assert resolve_precision("auto", "cpu", AVX2_ONLY) == "float32"
    assert resolve_precision(None, "cpu", frozenset()) == "float32"


def test_auto_with_amx_is_bfloat16_without_timing() -> None:
    def untimed() -> float:
        raise AssertionError("AMX needs no timing")

    assert resolve_precision("auto", "cpu", SAPPHIRE_RAPIDS, untimed) == "bfloat16"


@pytest.mark.parametrize(
    ("share", "expected"), [(0.5, "bfloat16"), (0.85, "bfloat16"), (1.5, "float32")]
)
def test_auto_with_avx512_bf16_alone_takes_bfloat16_only_where_timed_faster(
    share: float, expected: str
) -> None:
    """Zen 4 runs bf16 matmuls at about half float32's time; Sapphire Rapids without AMX at
    1.5 times it: the flags are the same, so the timing decides."""
    avx512_bf16 = AVX2_ONLY | {"avx512f", "avx512_bf16"}
    assert resolve_precision("auto", "cpu", avx512_bf16, lambda: share) == expected


def test_bf16_matmul_timing_runs_once_per_process() -> None:
    share = bf16_matmul_time_share()
    assert 0 < share < float("inf")
    assert bf16_matmul_time_share() == share  # cached: a second encoder loads without timing


def test_explicit_precision_wins_over_the_hardware() -> None:
    assert resolve_precision("float32", "cpu", SAPPHIRE_RAPIDS) == "float32"
    assert resolve_precision("bfloat16", "cpu", AVX2_ONLY) == "bfloat16"


def test_auto_on_other_devices_is_float32() -> None:
    assert resolve_precision("auto", "mps", SAPPHIRE_RAPIDS) == "float32"


@pytest.mark.parametrize(("capability", "expected"), [((8, 0), "float16"), ((6, 1), "float32")])
def test_auto_on_cuda_uses_float16_where_tensor_cores_are(
    monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], expected: str
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert resolve_precision("auto", "cuda") == expected


def test_unknown_precision_names_the_value_and_choices() -> None:
    with pytest.raises(ModelLoadError, match=r"one of auto, float32, bfloat16, float16, got 'fp8'"):
        resolve_precision("fp8", "cpu", AVX2_ONLY)


def test_cpu_flags_reads_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_float32_model_and_auto_on_this_machine() -> None:
    import torch

    encoder = load_encoder(precision="float32")
    assert encoder.precision == "float32"
    assert next(encoder._model.parameters()).dtype == torch.float32
    auto = load_encoder()
    assert auto.precision == resolve_precision("auto", auto.device)


def test_bfloat16_model_gives_float32_unit_vectors_close_to_float32() -> None:
    import torch

    texts = ["The central bank raised interest rates.", "Blinken will visit China next week."]
    reference = load_encoder(precision="float32").encode(texts)
    encoder = load_encoder(precision="bfloat16")
    assert next(encoder._model.parameters()).dtype == torch.bfloat16
    vectors = encoder.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(vectors * reference, axis=1)) >= 0.995


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}, "float32"),
        ({"ONEDNN_MAX_CPU_ISA": "avx512_core"}, "float32"),
        ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, "bfloat16"),
        ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16", "BF16_SHARE": "1.5"}, "float32"),
        ({"MKL_ENABLE_INSTRUCTIONS": "AVX2"}, "float32"),
        ({"ONEDNN_MAX_CPU_ISA": "DEFAULT"}, "bfloat16"),
        ({}, "bfloat16"),
    ],
)
def test_an_isa_cap_makes_auto_choose_as_that_cpu_would(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: str
) -> None:
    """ONEDNN_MAX_CPU_ISA=AVX2 on an AMX machine emulates an AVX2 CPU: float32, as there;
    AVX512_CORE_BF16 one without AMX, where the bf16 matmul timing (BF16_SHARE) decides."""
    environ = dict(environ)
    share = float(environ.pop("BF16_SHARE", "0.5"))
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("embeddings.encoder.cpu_flags", lambda: SAPPHIRE_RAPIDS)
    monkeypatch.setattr("embeddings.encoder.bf16_matmul_time_share", lambda: share)
    assert resolve_precision("auto", "cpu") == expected
    assert usable_cpu_flags(SAPPHIRE_RAPIDS, environ) >= AVX2_ONLY
