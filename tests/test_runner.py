"""The runner's contract: parameters checked before anything runs, failures kept and reported, atomic and
lock-protected outputs (a killed build, two builds at once), and escaped area names."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import psutil
import pytest

from sendlib.cli import main
from sendlib.errors import ParameterError
from sendlib.paths import REPO_ROOT, processed_dir
from sendlib.reports.params import Report, check_reports, notebook_parameters, select_reports

SENDLIB = str(Path(sys.executable).parent / "sendlib")
NOTEBOOKS = REPO_ROOT / "notebooks"
INJECTION = 'London"; import os; os.system("touch {marker}") #'


def notebook(path: Path, parameters: str, *cells: str) -> Path:
    """Write a minimal notebook: a `parameters` cell and code cells."""
    def cell(source: str, tags: list[str] | None = None) -> dict:
        return {"cell_type": "code", "execution_count": None, "metadata": {"tags": tags or []}, "outputs": [],
                "source": source}

    content = {"cells": [cell(parameters, ["parameters"]), *(cell(c) for c in cells)],
               "metadata": {"kernelspec": {"name": "sendlib", "display_name": "Python (sendlib)",
                                           "language": "python"}},
               "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def small_notebooks(folder: Path, region_body: str = "") -> Path:
    """Write quick england/region/local_authority notebooks (a heading, a table, a chart) into a folder."""
    chart = ("from sendlib import plots\nfig, ax = plots.new_figure(width=4, height=2.5)\nax.plot([0, 1], [1, 2])\n"
             "ax.set_xlabel('Financial year'); ax.set_ylabel('£m')\n"
             "plots.finish(fig, 'A rising line', 'test data', 'A line rising from 1 to 2')")
    heading = "from IPython.display import Markdown, display\ndisplay(Markdown('## Test section'))"
    notebook(folder / "england.ipynb", "# no parameters", heading, chart)
    notebook(folder / "region.ipynb", 'region = "E12000007"', heading, region_body or "x = 1", chart)
    notebook(folder / "local_authority.ipynb", 'la = "886"', heading, chart)
    return folder


def html_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html"))


def assert_complete(path: Path) -> None:
    """Fail unless the file is a whole HTML document that parses."""
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html"), f"{path} does not start as HTML"
    assert text.rstrip().endswith("</html>"), f"{path} is truncated"
    parser = HTMLParser()
    parser.feed(text)
    parser.close()


# --------------------------------------------------------------------------------------- parameters


def test_unknown_region_exits_2_with_valid_values_and_suggestions(tmp_path, capsys):
    status = main(["reports", "--region", "Londn", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "Did you mean: London (E12000007)" in err
    assert "North East (E12000001)" in err and "South West (E12000009)" in err  # the valid values
    assert not (tmp_path / "out").exists()


def test_unknown_la_exits_2_with_codes_and_suggestions(tmp_path, capsys):
    status = main(["reports", "--la", "Kentt", "--la", "886", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "Kent (886)" in err and "201, 202" in err
    assert not (tmp_path / "out").exists()


def test_code_in_a_value_is_rejected_and_never_executed(tmp_path, capsys):
    marker = tmp_path / "owned"
    value = INJECTION.format(marker=marker)
    for option in ("--region", "--la"):
        assert main(["reports", option, value, "--out", str(tmp_path / "out")]) == 2
    assert "is not valid" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "out").exists()
    region = NOTEBOOKS / "region.ipynb"
    with pytest.raises(ParameterError):
        check_reports([Report("region", region, "regions/x.html", "X", "E12000007", (("region", value),))])
    with pytest.raises(ParameterError):
        check_reports([Report("region", region, "regions/x.html", "X", "E12000007", (("region", "London"),))])
    with pytest.raises(ParameterError):
        check_reports([Report("custom", region, "x.html", "X", "", (("region", value),))])
    assert not marker.exists()


def test_values_passed_are_registry_codes_not_user_text():
    reports = select_reports(regions=["greater london"], las=["kent", "E10000016"])
    assert [r.params for r in reports] == [{"region": "E12000007"}, {"la": "886"}]  # the same LA twice: once
    assert [r.relpath for r in reports] == ["regions/london.html", "las/886-kent.html"]


def test_all_las_is_every_current_la_and_no_selection_means_all():
    las = select_reports(all_las=True)
    assert len(las) == 153 and all(r.kind == "la" for r in las)
    default = select_reports()
    assert [r.kind for r in default] == ["england"] + ["region"] * 9


def test_misspelt_notebook_parameter_is_refused_before_running(tmp_path, monkeypatch, capsys):
    folder = small_notebooks(tmp_path / "notebooks")
    notebook(folder / "region.ipynb", 'regoin = "London"', "x = 1")
    monkeypatch.setenv("SENDLIB_NOTEBOOKS_DIR", str(folder))
    status = main(["reports", "--england", "--region", "London", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "region" in err and "regoin" in err
    assert not (tmp_path / "out").exists()


def test_parameters_cell_is_read_without_running_it(tmp_path):
    path = notebook(tmp_path / "n.ipynb", 'region = "London"\nla: str = "886"\n# a comment\nyear = 2024',
                    "raise SystemExit")
    assert notebook_parameters(path) == {"region": '"London"', "la": '"886"', "year": "2024"}


# --------------------------------------------------------------------------------------- failures


@pytest.mark.notebooks
def test_failing_notebook_is_kept_and_reported_while_others_finish(tmp_path, monkeypatch, capsys):
    body = 'if region == "E12000001":\n    raise ValueError("boom: no data for this region")'
    folder = small_notebooks(tmp_path / "notebooks", region_body=body)
    monkeypatch.setenv("SENDLIB_NOTEBOOKS_DIR", str(folder))
    out = tmp_path / "out"
    status = main(["reports", "--england", "--region", "North East", "--region", "London", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 1
    assert "north-east.html: cell" in printed.out and "ValueError" in printed.out
    assert (out / "england.html").is_file() and (out / "regions/london.html").is_file()
    assert not (out / "regions/north-east.html").exists()
    kept = out / "executed" / "regions" / "north-east.ipynb"
    assert kept.is_file() and "boom: no data for this region" in kept.read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    row = re.search(r'<p class="region-report">Region report: North East .*?</p>', index, re.S)
    assert row and "failed" in row.group(0) and "boom: no data for this region" in row.group(0)
    assert "executed/regions/north-east.ipynb" in row.group(0)
    assert index.count('<span class="status-ok">ok</span>') == 2
    assert not list(out.glob(".run-*"))


# --------------------------------------------------------------------------------------- atomicity


def _reports_cmd(out: Path, *regions: str) -> list[str]:
    argv = [SENDLIB, "reports", "--jobs", "1", "--out", str(out)]
    for region in regions:
        argv += ["--region", region]
    return argv


@pytest.mark.notebooks
def test_killed_build_leaves_previous_outputs_and_a_rerun_completes(tmp_path, request):
    out = tmp_path / "out"
    names = ["regions/north-east.html", "regions/north-west.html", "regions/london.html"]
    previous = "<!DOCTYPE html>\n<html><body><p>previous build</p></body></html>\n"
    for name in names + ["index.html"]:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(previous, encoding="utf-8")
    argv = _reports_cmd(out, "North East", "North West", "London")
    # the system temp folder of both builds (where the fork server's socket folder goes): short, for the socket
    temp = Path(tempfile.mkdtemp(prefix="sk-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    env = {**os.environ, "TMPDIR": str(temp), "SENDLIB_KERNELS": "fast"}
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if any((out / n).read_text(encoding="utf-8") != previous for n in names):
            break
        time.sleep(0.02)
    assert process.poll() is None, "the build finished before it could be killed"
    tree = psutil.Process(process.pid).children(recursive=True)  # workers, fork server, launchers, kernels
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for path in html_files(out):
        text = path.read_text(encoding="utf-8")
        if text != previous:
            assert_complete(path)
    assert sum((out / n).read_text(encoding="utf-8") == previous for n in names) >= 1, "killed too late"
    _gone, alive = psutil.wait_procs(tree, timeout=15)
    assert not alive, f"processes of the killed build still run: {[p.cmdline() for p in alive]}"

    assert list(temp.glob("sendlib-ks-*")), "the killed build's socket folder is left (the rerun must clean it)"
    assert list(out.glob(".run-*")), "the killed build's run folder is left (the rerun must clean it)"
    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "sendlib: kernels: pre-warmed (fork server)" in rerun.stderr
    assert not list(temp.glob("sendlib-ks-*"))
    for name in names:
        assert_complete(out / name)
        assert "previous build" not in (out / name).read_text(encoding="utf-8")
    assert not list(out.rglob("*.tmp")) and not list(out.glob(".run-*"))
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="status-ok">ok</span>') == 3


@pytest.mark.notebooks
def test_two_concurrent_builds_never_leave_a_partial_file(tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen(_reports_cmd(out, "North East", "London"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(_reports_cmd(out, "London", "South West"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    checked = 0
    while first.poll() is None or second.poll() is None:
        for path in html_files(out):
            try:
                assert_complete(path)
                checked += 1
            except FileNotFoundError:
                pass
        time.sleep(0.05)
    assert first.returncode == 0, first.stderr.read()
    assert second.returncode == 0, second.stderr.read()
    assert checked > 0
    for path in html_files(out):
        assert_complete(path)
    assert not list(out.rglob("*.tmp")) and not list(out.glob(".run-*"))
    state = json.loads((out / ".reports.json").read_text(encoding="utf-8"))
    assert {e["relpath"] for e in state["reports"]} == {"regions/north-east.html", "regions/london.html",
                                                        "regions/south-west.html"}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="status-ok">ok</span>') == 3


# --------------------------------------------------------------------------------------- platforms


@pytest.mark.notebooks
def test_a_real_report_builds_on_the_plain_path_with_spawned_workers(tmp_path, monkeypatch, capsys):
    """What macOS and Windows run: plain papermill kernels, workers started with spawn, no fork server."""
    from sendlib.reports import runner

    monkeypatch.setenv("SENDLIB_KERNELS", "plain")
    monkeypatch.setattr(runner, "pool_start_method", lambda: "spawn")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    out = tmp_path / "out"
    status = main(["reports", "--region", "London", "--jobs", "1", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed
    assert [line for line in printed.err.splitlines() if "kernels:" in line] == [
        "sendlib: kernels: plain (SENDLIB_KERNELS=plain)"]
    page = out / "regions" / "london.html"
    assert_complete(page)
    text = page.read_text(encoding="utf-8")
    assert "<title>SEND high needs funding: London</title>" in text
    assert 'src="data:image/png;base64,' in text and 'alt="' in text  # charts embedded, with alt text
    assert "E12000007 (London)" in text  # the footer's parameters
    assert "Traceback" not in text and "Error" not in re.sub(r"<style.*?</style>", "", text, flags=re.S)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="status-ok">ok</span>') == 1
    assert not list(out.rglob("*.tmp")) and not list(out.glob(".run-*")) and not list(temp.iterdir())


def test_kernels_option_beats_the_environment_and_bad_values_are_named(monkeypatch):
    from sendlib.reports.runner import requested_kernels

    monkeypatch.delenv("SENDLIB_KERNELS", raising=False)
    assert requested_kernels(None) == ("auto", "")
    monkeypatch.setenv("SENDLIB_KERNELS", " Plain ")
    assert requested_kernels(None) == ("plain", "SENDLIB_KERNELS")
    assert requested_kernels("fast") == ("fast", "--kernels")
    monkeypatch.setenv("SENDLIB_KERNELS", "quick")
    with pytest.raises(ParameterError, match="SENDLIB_KERNELS='quick' is not valid: expected auto, fast or plain"):
        requested_kernels(None)


def test_fork_server_is_unavailable_without_fork_fd_passing_or_linux(monkeypatch):
    import multiprocessing
    import socket

    from sendlib.reports.runner import fork_server_unavailable, pool_start_method

    assert fork_server_unavailable() is None and pool_start_method() == "fork"  # this Linux machine
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fork_server_unavailable() == "it runs on Linux only and this is macOS"
    assert pool_start_method() == "spawn"
    monkeypatch.delattr(socket, "send_fds")
    assert fork_server_unavailable() == "macOS cannot pass file descriptors over Unix sockets"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "fork")
    assert fork_server_unavailable() == "Windows has no os.fork"
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn", "forkserver"])
    assert pool_start_method() == "spawn"


def test_auto_chooses_plain_with_the_reason_and_fast_is_refused_where_it_cannot_run(monkeypatch, tmp_path, capsys):
    from sendlib.reports import runner

    monkeypatch.delenv("SENDLIB_KERNELS", raising=False)
    assert runner.choose_kernels(None) == (True, "")
    assert runner.kernels_line(True, "") == "sendlib: kernels: pre-warmed (fork server)"
    assert runner.choose_kernels("plain") == (False, "--kernels plain")
    monkeypatch.setattr(runner, "fork_server_unavailable", lambda: "Windows has no os.fork")
    assert runner.choose_kernels(None) == (False, "fork server unavailable: Windows has no os.fork")
    assert runner.kernels_line(False, "fork server unavailable: Windows has no os.fork") == (
        "sendlib: kernels: plain (fork server unavailable: Windows has no os.fork)")
    out = tmp_path / "out"
    assert main(["reports", "--region", "London", "--kernels", "fast", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kernels='fast' is not valid" in err and "Windows has no os.fork" in err
    assert not out.exists()
    monkeypatch.setattr(runner, "fork_server_unavailable", lambda: None)
    monkeypatch.setattr(runner, "kernel_spec_argv", lambda name: ["python", "-m", "ipykernel_launcher", "-f", "x"])
    fast, why = runner.choose_kernels(None)
    assert not fast and "starts ipykernel directly" in why and "make install" in why


def test_missing_kernel_spec_names_the_command_that_registers_it():
    from sendlib.errors import SendlibError
    from sendlib.reports.runner import kernel_spec_argv

    with pytest.raises(SendlibError) as caught:
        kernel_spec_argv("sendlib-not-registered")
    assert "run `make install`" in str(caught.value)
    assert f"{sys.executable} -m sendlib.reports.kernel install --sys-prefix" in str(caught.value)


def test_make_install_registers_the_kernel_even_when_installed():
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "install"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert "-m sendlib.reports.kernel install --sys-prefix" in dry.stdout, dry.stdout + dry.stderr
    missing = subprocess.run(["make", "-n", "reports", "KERNEL_SPEC=.venv/no-such/kernel.json"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=60)
    assert "-m sendlib.reports.kernel install --sys-prefix" in missing.stdout, missing.stdout + missing.stderr


# --------------------------------------------------------------------------------------- escaping


@pytest.mark.notebooks
def test_area_name_with_script_is_escaped_everywhere(tmp_path, monkeypatch):
    evil = "<script>alert(1)</script> London"
    data = tmp_path / "processed"
    shutil.copytree(processed_dir(), data)
    areas = (data / "areas.csv").read_text(encoding="utf-8")
    assert ",London,region," in areas
    (data / "areas.csv").write_text(areas.replace(",London,region,", f",{evil},region,"), encoding="utf-8")
    manifest = json.loads((data / "MANIFEST.json").read_text(encoding="utf-8"))  # as if it had been built so
    manifest["tables"]["areas"]["sha256"] = hashlib.sha256((data / "areas.csv").read_bytes()).hexdigest()
    (data / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("SENDLIB_PROCESSED_DIR", str(data))  # the registry, the runner and the kernels
    monkeypatch.setenv("SENDLIB_DERIVED_DIR", str(tmp_path / "derived"))
    from sendlib.data import clear_cache
    from sendlib.derive import derive_all

    clear_cache()
    derive_all()  # the name reaches the derived tables the reports read
    try:
        out = tmp_path / "out"
        assert main(["reports", "--region", "E12000007", "--out", str(out)]) == 0
    finally:
        clear_cache()
    pages = html_files(out)
    assert [p.relative_to(out).as_posix() for p in pages] == ["index.html",
                                                              "regions/script-alert-1-script-london.html"]
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path


# --------------------------------------------------------------------------------------- pieces


def test_git_commit_is_unknown_outside_git(tmp_path):
    from sendlib.reports.export import git_commit

    assert git_commit(tmp_path) == "unknown"
    assert re.fullmatch(r"[0-9a-f]{12}( \+ uncommitted changes)?", git_commit())


def test_contents_list_escapes_heading_text():
    from sendlib.reports.export import TOC_MARK, table_of_contents

    body = ('<h1 id="t">Title</h1><h2 id="a">Funding &amp; &lt;need&gt;<a class="anchor-link" href="#a">¶</a></h2>'
            '<h3 id="b">Detail</h3>')
    page = f"<html>{TOC_MARK}<!--sendlib:content-start-->{body}<!--sendlib:content-end--></html>"
    toc = table_of_contents(page)
    assert '<a href="#a">Funding &amp; &lt;need&gt;</a>' in toc and '<a href="#b">Detail</a>' in toc
    assert "¶" not in toc.split("<!--sendlib:content-start-->")[0]


def test_index_escapes_names_and_reasons(tmp_path):
    from sendlib.reports.export import provenance
    from sendlib.reports.index import Entry, record

    (tmp_path / "regions").mkdir()
    (tmp_path / "regions" / "x.html").write_text("<!DOCTYPE html><html></html>", encoding="utf-8")
    (tmp_path / "executed").mkdir()
    (tmp_path / "executed" / "y.ipynb").write_text("{}", encoding="utf-8")
    evil = "<script>alert(1)</script>"
    record(tmp_path, [Entry("regions/x.html", "region", evil, "E12000007", "ok", built_at="now"),
                      Entry("y.html", "custom", "Y", "", "failed", reason=f"ValueError: {evil}",
                            executed="executed/y.ipynb", built_at="now")], provenance(), "now")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert evil not in index and index.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
    assert json.loads((tmp_path / ".reports.json").read_text(encoding="utf-8"))["reports"]


def test_atomic_write_and_stale_clean_up(tmp_path):
    from sendlib.reports import files

    target = files.write_atomic(tmp_path / "a" / "b.html", "<html></html>")
    assert target.read_text(encoding="utf-8") == "<html></html>"
    assert [p.name for p in target.parent.iterdir()] == ["b.html"]
    gone = "0123456789abcdef"  # a run whose folder no longer exists
    (tmp_path / "a" / f".b.html.{gone}.0123abcd.tmp").write_text("partial", encoding="utf-8")
    mine = files.new_run_folder(tmp_path)
    (tmp_path / "a" / f".b.html.{mine.token}.0123abcd.tmp").write_text("being written", encoding="utf-8")
    old = tmp_path / ".run-12345-0123abcd"  # an older sendlib's run folder (no lock file), an hour old
    old.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert files.clean_stale(tmp_path) == 2
    assert mine.path.is_dir() and not old.exists()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f".b.html.{mine.token}.0123abcd.tmp", "b.html"]
    mine.remove()
    assert not mine.path.exists()


def test_export_refuses_a_report_that_would_load_external_resources():
    import nbformat

    from sendlib.reports.export import export_html, provenance

    output = nbformat.v4.new_output("display_data", data={
        "text/html": '<img alt="logo" src="https://example.org/logo.png">', "text/plain": "logo"})
    cell = nbformat.v4.new_code_cell("show_logo()", outputs=[output])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Logo"), cell])
    report = Report("custom", NOTEBOOKS / "_floor.ipynb", "x.html", "X")
    with pytest.raises(ValueError, match="external resource.*https://example.org/logo.png"):
        export_html(nb, report, provenance(), {})
    output.data["text/html"] = '<p>Fine: <a href="https://example.org">a link</a></p>'
    assert "a link" in export_html(nb, report, provenance(), {})
