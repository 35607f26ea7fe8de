import numpy as np

from embeddings.encoder import Encoder


def test_progress_slices_keep_input_order_and_report_often(encoder: Encoder) -> None:
    texts = [f"{'long ' * (i % 7)}text number {i}" for i in range(200)]
    calls: list[tuple[int, int]] = []
    with_progress = encoder.encode(texts, progress=lambda done, total: calls.append((done, total)))
    plain = encoder.encode(texts)
    np.testing.assert_allclose(with_progress, plain, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(plain, axis=1), 1.0, atol=1e-5)
    assert len(calls) >= 4 and calls[-1] == (200, 200)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
