"""The summary the reports read: for a region with councils above and below the threshold, no shown count is
below it, no hidden count can be recovered from the region's tables (LA columns against the region's total,
answers against respondents), and the summary goes stale when the responses or the threshold change."""

from __future__ import annotations

import pandas as pd
import pytest
from feedback_synthetic import export_frame, synthetic_responses, use_feedback_folder, write_export

from sendlib.cli import main
from sendlib.feedback import store
from sendlib.feedback.definition import NO_ANSWER, load_definition
from sendlib.feedback.importer import import_files
from sendlib.feedback.summary import NOT_PREFIX, OTHERS, RESPONDENTS, summary_state, write_summary


@pytest.fixture
def feedback_folder(tmp_path, monkeypatch):
    """An empty feedback folder for the test (SENDLIB_FEEDBACK_DIR), never data/feedback/."""
    return use_feedback_folder(tmp_path, monkeypatch)


D = load_definition()
YORKSHIRE = "E12000003"
# Leeds and Bradford above the threshold; Wakefield, Calderdale and Kirklees below it, combined; Kent alone in its region
MIX = {"Leeds": 14, "Bradford": 8, "Wakefield": 3, "Calderdale": 2, "Kirklees": 1, "Kent": 7}
CODE = {"Leeds": "383", "Bradford": "380", "Wakefield": "384", "Calderdale": "381", "Kirklees": "382", "Kent": "886"}


def _import(folder, scratch):
    responses = synthetic_responses(MIX, seed=11)
    import_files([write_export(export_frame(responses), scratch / "mix.xlsx")], folder=folder)
    cells = pd.read_csv(folder / store.SUMMARY, dtype=str, keep_default_na=False)
    stored = pd.read_csv(folder / store.RESPONSES, dtype=str, keep_default_na=False)
    return cells, stored


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The summary of one import, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("feedback")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENDLIB_FEEDBACK_DIR", str(folder))
        return _import(folder, tmp_path_factory.mktemp("exports"))


@pytest.fixture
def imported(tmp_path, feedback_folder):
    return _import(feedback_folder, tmp_path)


def true_counts(stored: pd.DataFrame, table: str, columns: list[str], region: str) -> dict:
    """Return the true count of every (row, column) of a table, computed here from the stored responses."""
    column_of = {"383": "383", "380": "380", "384": OTHERS, "381": OTHERS, "382": OTHERS}
    keys = stored["la"].map(column_of)
    q = D.question(table)
    counts = {}
    for column in columns:
        chosen = stored[keys.notna()] if column == region else stored[keys == column]
        if q.type == "multi":
            for option in q.options:
                ticked = int(chosen[table].str.split(";").apply(lambda picked, o=option: o in picked).sum())
                counts[(option, column)] = ticked
                counts[(NOT_PREFIX + option, column)] = len(chosen) - ticked
        else:
            answers = chosen[table].replace("", NO_ANSWER)
            for option in list(q.options) + [NO_ANSWER]:
                counts[(option, column)] = int((answers == option).sum())
    return counts


def test_columns_respondents_and_small_councils(built):
    cells, _ = built
    region = cells[(cells["region_code"] == YORKSHIRE) & (cells["table"] == RESPONDENTS)]
    respondents = region[region["row"] == RESPONDENTS].set_index("column")
    assert respondents.loc["383", "value"] == "14" and respondents.loc["380", "value"] == "8"
    for code in ("384", "381", "382"):
        assert respondents.loc[code, ["value", "status"]].tolist() == ["", "fewer"]
    assert respondents.loc[OTHERS, "value"] == "6" and respondents.loc[YORKSHIRE, "value"] == "28"
    kent = cells[(cells["region_code"] == "E12000008") & (cells["table"] == "role")]
    assert set(kent["column"]) == {"886"}  # one council alone: no total column that would repeat it


def test_no_shown_count_is_below_the_threshold(built):
    cells, _ = built
    shown = cells[(cells["status"] == "shown") & (cells["value"] != "") & (cells["row"] != "councils_left_out")]
    values = shown["value"].astype(int)
    assert ((values == 0) | (values >= 5)).all(), shown[(values > 0) & (values < 5)]
    assert set(cells["status"]) <= {"shown", "fewer", "withheld"}
    assert (cells.loc[cells["status"] != "shown", "value"] == "").all()


def test_no_small_count_can_be_recovered_by_subtraction_in_the_region(built):
    cells, stored = built
    region = cells[cells["region_code"] == YORKSHIRE]
    bases = region[(region["table"] == RESPONDENTS) & (region["row"] == RESPONDENTS)].set_index("column")["value"]
    checked = 0
    for table in [q.id for q in D.questions if q.type in ("choice", "multi")]:
        published = region[(region["table"] == table) & (region["row"] != "median")]
        columns = list(dict.fromkeys(published["column"]))
        assert columns == ["380", "383", OTHERS, YORKSHIRE]
        truth = true_counts(stored[stored["la"].isin(CODE.values())], table, columns, YORKSHIRE)
        known = {(r.row, r.column): int(r.value) for r in published.itertuples() if r.status == "shown"}
        rows = sorted({row for row, _ in truth})
        relations = [([(row, c) for row in rows], int(bases[c])) for c in columns
                     if D.question(table).type == "choice"]
        if D.question(table).type == "multi":
            options = D.question(table).options
            relations = [([(o, c), (NOT_PREFIX + o, c)], int(bases[c])) for o in options for c in columns]
        parts = columns[:-1]
        for row in rows:  # the total column is the sum of the others: row - total = 0
            relations.append(([(row, c) for c in parts] + [(row, YORKSHIRE)], None))
        changed = True
        while changed:
            changed = False
            for cells_in, constant in relations:
                missing = [c for c in cells_in if c not in known]
                if len(missing) != 1:
                    continue
                if constant is None:  # parts = total
                    *parts_in, total = cells_in
                    value = (sum(known[c] for c in parts_in) if missing[0] == total
                             else known[total] - sum(known[c] for c in parts_in if c != missing[0]))
                else:
                    value = constant - sum(known[c] for c in cells_in if c != missing[0])
                known[missing[0]] = value
                assert value == truth[missing[0]], (table, missing[0])
                changed = True
        for cell, value in truth.items():
            if 0 < value < 5:
                checked += 1
                shown = published[(published["row"] == cell[0]) & (published["column"] == cell[1])]
                assert cell not in known, (table, cell, value)
                assert shown.empty or shown["status"].iloc[0] != "shown"
    assert checked > 50  # the synthetic data do have many small cells to protect


def test_each_cell_is_published_once(built):
    cells, _ = built
    assert not cells.duplicated(["region_code", "table", "row", "column"]).any()


def test_the_summary_goes_stale_when_responses_or_threshold_change(imported, feedback_folder):
    assert summary_state() == "ok"
    store.set_threshold(7)
    assert summary_state() == "stale"
    write_summary()
    assert summary_state() == "ok"
    cells = pd.read_csv(feedback_folder / store.SUMMARY, dtype=str, keep_default_na=False)
    respondents = cells[(cells["table"] == RESPONDENTS) & (cells["row"] == RESPONDENTS)].set_index("column")
    assert respondents.loc["380", "status"] == "shown" and respondents.loc["886", "status"] == "shown"
    assert respondents.loc[YORKSHIRE, "value"] == "22"  # the three small councils are 6: fewer than 7, left out
    values = cells.loc[(cells["status"] == "shown") & (cells["value"] != "") & (cells["table"] != RESPONDENTS),
                       "value"].astype(int)
    assert ((values == 0) | (values >= 7)).all()
    with open(feedback_folder / store.RESPONSES, "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert summary_state() == "stale"
    (feedback_folder / store.RESPONSES).unlink()
    assert summary_state() == "none"


def test_summary_command_sets_the_threshold_and_refuses_below_three(imported, capsys):
    assert main(["feedback", "summary", "--threshold", "2"]) == 2
    assert "at least 3" in capsys.readouterr().err
    assert store.threshold() == 5
    assert main(["feedback", "summary", "--threshold", "6"]) == 0
    out = capsys.readouterr().out
    assert store.threshold() == 6 and "threshold 6" in out and "Yorkshire and The Humber" in out
