"""Batches of texts cut by their padded size, not only by a count of rows.

A batch costs what its texts cost once padded to the longest of them, so a count of rows lets
one long text make every short one pay its length; and on a CPU, a batch of a few long texts
runs faster per word piece than one of many (its activations stay in cache). Both encoders
cut their batches here: texts longest first, each batch at most ``max_rows`` texts and
``max_padded`` word pieces (rows x the longest row; a text longer than that is a batch alone).
"""

from __future__ import annotations

from collections.abc import Sequence


def padded_batches(
    lengths: Sequence[int], max_rows: int, max_padded: int | None
) -> list[list[int]]:
    """Indices into ``lengths``, longest first, cut into batches as the module says
    (``max_padded`` None: by rows alone)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        current = batches[-1] if batches else None
        if (
            current is None
            or len(current) >= max_rows
            or (max_padded is not None and (len(current) + 1) * lengths[current[0]] > max_padded)
        ):
            batches.append([index])
        else:
            current.append(index)
    return batches
