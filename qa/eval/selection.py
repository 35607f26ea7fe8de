"""Choosing a fit script's setting by leave-one-set-out over the evaluation sets.

Every setting is fitted on training data only; each evaluation set is then reported with the
setting that scores best on the *other* sets, and the setting that ships is the one chosen
most often (ties: the best mean over every set). ``scripts/fit_ranker.py`` and
``scripts/fit_quote_model.py`` choose this way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

# setting -> evaluation set -> its figures, of which "score" is the one that chooses.
Scores = Mapping[str, Mapping[str, Mapping[str, float]]]


def mean_score(scores: Scores, setting: str, sets: Sequence[str]) -> float:
    return float(np.mean([scores[setting][name]["score"] for name in sets]))


def leave_one_set_out(scores: Scores, sets: Sequence[str]) -> tuple[dict[str, str], str]:
    """The setting chosen for each set on the other sets, and the one chosen most often."""
    chosen = {
        held_out: max(
            scores,
            key=lambda setting: mean_score(scores, setting, [n for n in sets if n != held_out]),
        )
        for held_out in sets
    }
    votes = Counter(chosen.values())
    shipped = max(scores, key=lambda setting: (votes[setting], mean_score(scores, setting, sets)))
    return chosen, shipped
