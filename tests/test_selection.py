"""Leave-one-set-out selection (qa.eval.selection), as the fit scripts choose their settings."""

from __future__ import annotations

import json
from importlib.resources import files

from qa.eval.selection import leave_one_set_out


def test_each_set_gets_the_setting_best_on_the_others_and_the_most_chosen_ships() -> None:
    scores = {
        "a": {"x": {"score": 0.9}, "y": {"score": 0.1}, "z": {"score": 0.5}},
        "b": {"x": {"score": 0.2}, "y": {"score": 0.8}, "z": {"score": 0.6}},
    }
    chosen, shipped = leave_one_set_out(scores, ["x", "y", "z"])
    # Left out x: b's mean on y, z (0.7) beats a's (0.3); left out y: a (0.7) beats b (0.4);
    # left out z: a (0.5) ties b (0.5), and the first setting wins the tie.
    assert chosen == {"x": "b", "y": "a", "z": "a"}
    assert shipped == "a"


def test_a_tie_in_votes_goes_to_the_best_mean_over_every_set() -> None:
    scores = {
        "a": {"x": {"score": 0.1}, "y": {"score": 0.6}},
        "b": {"x": {"score": 0.5}, "y": {"score": 0.5}},
    }
    chosen, shipped = leave_one_set_out(scores, ["x", "y"])
    assert chosen == {"x": "a", "y": "b"}
    assert shipped == "b"  # 0.5 mean against 0.35


def test_the_shipped_ranking_record_is_what_the_selection_chooses() -> None:
    record = json.loads((files("qa") / "data" / "ranker.json").read_text(encoding="utf-8"))
    sets = list(record["leave-one-set-out"])
    chosen, shipped = leave_one_set_out(record["every setting"], sets)
    assert chosen == {
        name: row["chosen on the other sets"] for name, row in record["leave-one-set-out"].items()
    }
    assert shipped == record["setting"]
