"""`sendlib feedback ...` end to end: counts only on the screen (no planted personal detail in any output, even
in error messages), exit statuses, the actions log, and the pre-commit hook that refuses survey data."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from feedback_synthetic import (
    LISTED_NAME,
    MARKERS,
    export_frame,
    files_under,
    scan_for_markers,
    synthetic_responses,
    use_feedback_folder,
    write_export,
)

from sendlib.cli import main
from sendlib.feedback import store
from sendlib.feedback.actions import read_actions
from sendlib.paths import REPO_ROOT

HOOK = REPO_ROOT / "scripts" / "check_feedback_files.py"


@pytest.fixture
def feedback_folder(tmp_path, monkeypatch):
    """An empty feedback folder for the test (SENDLIB_FEEDBACK_DIR), never data/feedback/."""
    return use_feedback_folder(tmp_path, monkeypatch)


def no_markers(text: str) -> bool:
    return not any(m.lower() in text.lower() for m in MARKERS)


def test_import_summary_and_actions_print_counts_only(tmp_path, feedback_folder, capsys):
    export = write_export(export_frame(synthetic_responses({"Leeds": 9, "Wakefield": 2, "Kent": 5})),
                          tmp_path / "forms.xlsx")
    names = tmp_path / "colleagues.txt"
    names.write_text(LISTED_NAME + "\n", encoding="utf-8")
    assert main(["feedback", "import", str(export), "--names", str(names)]) == 0
    out = capsys.readouterr()
    assert "16 new response(s)" in out.out and "synthetic test responses" in out.out
    assert "Yorkshire and The Humber" in out.out and "South East" in out.out
    assert no_markers(out.out + out.err)
    assert main(["feedback", "import", str(export)]) == 0
    again = capsys.readouterr()
    assert "0 new response(s), 16 already imported" in again.out and no_markers(again.out + again.err)
    assert main(["feedback", "summary"]) == 0
    assert no_markers(capsys.readouterr().out)
    assert main(["feedback", "actions", "add", "--date", "2025-03-01", "--la", "Leeds", "--issue",
                 "EP waits (Qzxvmarker3 asked us)", "--action", "Letter to the council", "--status", "open"]) == 0
    assert "1 added" in capsys.readouterr().out
    logged = read_actions()
    assert logged[["date", "area_code", "status"]].values.tolist() == [["2025-03-01", "383", "Open"]]
    assert no_markers(" ".join(logged["issue"]))
    assert main(["feedback", "template", "--out", str(tmp_path / "template")]) == 0
    outputs = files_under(tmp_path / "template") + files_under(feedback_folder, skip=(store.CONTACTS,))
    assert len(outputs) >= 12 and not scan_for_markers(outputs), scan_for_markers(outputs)


def test_errors_name_the_problem_but_never_the_value(tmp_path, feedback_folder, capsys):
    frame = export_frame(synthetic_responses({"Leeds": 6}, plant=False)).astype(object)
    frame.loc[3, "What is your role?"] = "Qzxvmarker in the role box"
    frame.loc[4, "Which local authority (council) is your school in?"] = "qzxv.leak@example.org"
    export = write_export(frame, tmp_path / "bad.csv")
    assert main(["feedback", "import", str(export)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv: 2 problem(s); nothing was imported" in err
    assert "row 5, column 'What is your role?'" in err and "row 6, column 'Which local authority" in err
    assert no_markers(err)
    assert not (feedback_folder / store.RESPONSES).exists()
    assert main(["feedback", "import", str(export), "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "4 new response(s)" in out and "2 rejected" in out and "rejected/bad-rejected.csv" in out
    assert no_markers(out)


def test_bad_options_exit_with_usage_errors(tmp_path, feedback_folder, capsys):
    assert main(["feedback", "summary", "--threshold", "1"]) == 2
    assert main(["feedback", "actions", "add", "--date", "2025-03-01", "--la", "Atlantis", "--issue", "x",
                 "--action", "y", "--status", "Open"]) == 2
    assert "--la='Atlantis' is not valid" in capsys.readouterr().err
    assert main(["feedback", "actions", "add", "--date", "32/01/2025", "--la", "Kent", "--issue", "x",
                 "--action", "y", "--status", "Open"]) == 2
    assert main(["feedback", "actions", "add", "--date", "2025-01-02", "--la", "Kent", "--issue", "x",
                 "--action", "y", "--status", "Pending"]) == 2
    assert "Raised with the council" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["feedback", "import", "x.csv", "--date-order", "ymd"])
    assert main(["feedback", "import", str(tmp_path / "absent.xlsx")]) == 1
    assert not read_actions().shape[0]


def test_actions_import_is_validated_and_repeatable(tmp_path, feedback_folder, capsys):
    good = pd.DataFrame({"Date": ["03/02/2025", "2025-02-10"], "LA": ["Leeds", "Yorkshire and the Humber"],
                         "Issue": ["EP waits", "CAMHS across the region"], "Action": ["Letter", "Motion"],
                         "Status": ["Open", "Resolved"]})
    path = tmp_path / "actions.csv"
    good.to_csv(path, index=False)
    assert main(["feedback", "actions", "import", str(path)]) == 0
    assert main(["feedback", "actions", "import", str(path)]) == 0
    assert "0 added, 2 already logged" in capsys.readouterr().out
    assert read_actions()["area_code"].tolist() == ["383", "E12000003"]
    bad = good.assign(Status=["Open", "Done"]).rename(columns={"Issue": "Problem"})
    bad.to_csv(path, index=False)
    assert main(["feedback", "actions", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "row 1, column 'Problem'" in err and "column 'Issue': expected this column" in err
    bad = good.assign(Status=["Open", "Done"], LA=["Leeds", "Narnia"])
    bad.to_csv(path, index=False)
    assert main(["feedback", "actions", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "row 3, column 'Status'" in err and "row 3, column 'LA'" in err
    assert len(read_actions()) == 2


def test_the_hook_refuses_survey_data(tmp_path, feedback_folder):
    export = write_export(export_frame(synthetic_responses({"Kent": 5})), tmp_path / "forms.xlsx")
    header_only = write_export(export_frame(synthetic_responses({"Kent": 1})).iloc[0:0], tmp_path / "layout.csv")
    unrelated = tmp_path / "table.csv"
    unrelated.write_text("a,b\n1,2\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(HOOK), "data/feedback/responses.csv", "data/feedback/.pseudonym-key",
                             str(export), str(header_only), str(unrelated), "README.md"],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    refused = result.stderr.splitlines()
    assert len(refused) == 3, refused
    assert refused[0].startswith("data/feedback/responses.csv") and refused[1].startswith("data/feedback/.pseudonym")
    assert refused[2].startswith(str(export))
    ok = subprocess.run([sys.executable, str(HOOK), "README.md", str(header_only)], cwd=REPO_ROOT)
    assert ok.returncode == 0


def test_data_feedback_is_git_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", "data/feedback/responses.csv"], cwd=REPO_ROOT)
    assert result.returncode == 0
    config = (REPO_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert "scripts/check_feedback_files.py" in config
