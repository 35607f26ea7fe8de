"""Batches of texts cut by their padded size, not only by a count of rows.

A batch costs what its texts cost once padded to the longest of them, so a count of rows lets
one long text make every short one pay its length; and on a CPU, a batch of a few long texts
runs faster per word piece than one of many (its activations stay in cache). Both encoders
cut their batches here: texts longest first, each batch at most ``max_rows`` texts and
``max_padded`` word pieces (rows x the longest row; a text longer than that is a batch alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


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


def pad_rows(
    encoded: Mapping[str, Sequence[Sequence[int]]], rows: Sequence[int], pad_id: int, left: bool
) -> dict[str, np.ndarray]:
    """``rows`` of tokenizer output (``input_ids``, ``attention_mask``...; lists of unequal
    length) as int64 matrices padded to the longest row: ids with ``pad_id``, every other
    column with 0 (``left``: the padding goes before the text)."""
    width = max(len(encoded["input_ids"][row]) for row in rows)
    columns = {}
    for name, values in encoded.items():
        matrix = np.full((len(rows), width), pad_id if name == "input_ids" else 0, np.int64)
        for line, row in enumerate(rows):
            value = values[row]
            if left:
                matrix[line, width - len(value) :] = value
            else:
                matrix[line, : len(value)] = value
        columns[name] = matrix
    return columns
