import json
import re
from pathlib import Path

import pytest

from qa.cli import main
from tests.conftest import SEED_CORPUS


def test_build_json_report_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(SEED_CORPUS), "--index", str(tmp_path / "i"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["articles"] == 6 and report["paragraphs"] == 37
    assert report["embedded"] >= 37 and report["index"] == str(tmp_path / "i")
    assert report["seconds"] > 0


def test_ask_json_and_text(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "ask",
                "When will Blinken visit China?",
                "-k",
                "2",
                "--index",
                str(seed_index),
                "--json",
            ]
        )
        == 0
    )
    payload = json.loads(capsys.readouterr().out)
    assert payload["question"] == "When will Blinken visit China?"
    assert len(payload["passages"]) == 2
    assert set(payload["passages"][0]) >= {
        "text",
        "score",
        "rank",
        "article_id",
        "title",
        "published",
        "section",
        "paragraph",
        "source",
        "start",
        "end",
    }
    assert (
        main(["ask", "When will Blinken visit China?", "-k", "1", "--index", str(seed_index)]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    # The first line is the answer, quoted as the chat opens its reply.
    assert lines[0].startswith("“") and lines[0].endswith("” [1]")
    assert "June 18 to 19" in lines[0]
    assert re.match(
        r"\[1\] Can there be a window of slight improvement in Sino US relations\?, Depth — "
        r"(.+, )?¶\d+ \(2024-04-13\)$",
        lines[2],
    )


def test_errors_exit_1_with_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "   ", "--index", str(tmp_path)]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["build", str(tmp_path / "missing"), "--index", str(tmp_path / "i")]) == 1
    err = capsys.readouterr().err
    assert "missing: no such file or folder" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["build", str(empty), "--index", str(tmp_path / "i")]) == 1
    assert "no indexable article" in capsys.readouterr().err
    reversed_range = ["--from", "2024-04-20", "--to", "2024-04-01"]
    assert main(["ask", "Floods", "--index", str(tmp_path), *reversed_range]) == 1
    assert "swap the two dates: from 2024-04-01 to 2024-04-20" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["ask"],
        ["ask", "q", "-k", "zero"],
        ["ask", "q", "-k", "0"],
        ["frobnicate"],
        ["build", "--bogus"],
        [],
    ],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage" in capsys.readouterr().err


def test_help_does_not_load_torch() -> None:
    import subprocess
    import sys

    code = "import sys, qa.cli; qa.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_uploads_of_a_single_file_index_are_rebuilt_in(tmp_path: Path) -> None:
    import qa

    index = tmp_path / "idx"
    assert main(["build", str(SEED_CORPUS), "--index", str(index)]) == 0
    uploads = qa.default_archive_dir(index)
    assert uploads == index / "uploads"
    uploads.mkdir()
    (uploads / "new.txt").write_text("Harbour bridge reopens\n\nThe bridge reopened on Monday.\n")
    assert main(["build", "--index", str(index)]) == 0
    assert [a.title for a in qa.list_articles(index)][-1] == "Harbour bridge reopens"
