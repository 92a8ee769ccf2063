"""Faults leave things as they were, and every expected failure is one line.

A full disk, a read-only folder, a file where a folder should be, a lock held too long, Ctrl-C, a closed pipe,
a kernel that dies at start-up, a killed build: each case asserts the exit status, that the one line on
stderr names the right file or flag, that there is no traceback, and that nothing half-written or stale is
left. Report builds here replace papermill with a quick fake (no kernel), so they take a second or two.
"""

from __future__ import annotations

import argparse
import builtins
import errno
import io as stdio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import london, one_line

import sendlib.io
from sendlib import cli
from sendlib.cli import main
from sendlib.errors import DataValidationError, ParameterError
from sendlib.paths import REPO_ROOT, processed_dir

PREVIOUS = "<!DOCTYPE html>\n<html><body><p>previous build</p></body></html>\n"


# --------------------------------------------------------------------------------------- helpers




def leftovers(folder: Path) -> list[str]:
    """Return temporary files and working folders left anywhere under `folder`."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.endswith((".tmp", ".part")) or p.name.startswith((".run-", ".build-", "sendlib-ks-")))


@pytest.fixture
def private_temp(monkeypatch) -> Path:
    """Point the system temp folder at a fresh folder (where fork-server socket folders go).

    It is short (/tmp/sk-XXXXXXXX): a socket path must fit in ~100 bytes, and pytest's folders are deeper.
    """
    import shutil
    import tempfile

    temp = Path(tempfile.mkdtemp(prefix="sk-", dir="/tmp" if os.path.isdir("/tmp") else None))
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def disk_full(monkeypatch, *names: str) -> None:
    """Make every atomic write of a file with one of these names (all files if none) stop half-way: ENOSPC."""
    real = sendlib.io._write_all

    def write(handle, data):
        target = Path(handle.name).name  # .<name>.<owner>.<8 hex>.tmp
        if not names or any(target.startswith(f".{name}.") for name in names):
            handle.write(data[: len(data) // 2])
            handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        real(handle, data)

    monkeypatch.setattr(sendlib.io, "_write_all", write)


def deny_writes(monkeypatch, folder: Path) -> None:
    """Make `folder` read-only: chmod, plus refusing writes in-process (root ignores permissions)."""
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    inside = str(folder.resolve())

    def under(path) -> bool:
        try:
            return os.path.abspath(os.fspath(path)).startswith(inside)
        except TypeError:
            return False

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    real_open, real_os_open, real_mkdir, real_replace = builtins.open, os.open, os.mkdir, os.replace

    def guarded_open(file, mode="r", *args, **kwargs):
        if under(file) and any(c in mode for c in "wax+"):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if under(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def guarded_replace(source, target, *args, **kwargs):
        if under(target):
            refuse(target)
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(stdio, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)
    monkeypatch.setattr(os, "replace", guarded_replace)


@pytest.fixture(autouse=True)
def writable_again(tmp_path):
    """Give tmp_path's folders their permissions back so pytest can remove them."""
    yield
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


def command_raising(monkeypatch, exc: BaseException) -> None:
    """Make the command line run a command that raises `exc`."""

    def parser() -> argparse.ArgumentParser:
        built = argparse.ArgumentParser(prog="sendlib")

        def run(_args):
            raise exc

        built.set_defaults(func=run)
        return built

    monkeypatch.setattr(cli, "build_parser", parser)




def previous_build(out: Path) -> None:
    """Write the outputs of an earlier build: the London report, an index and a kept notebook."""
    (out / "regions").mkdir(parents=True)
    (out / "regions" / "london.html").write_text(PREVIOUS, encoding="utf-8")
    (out / "index.html").write_text(PREVIOUS, encoding="utf-8")


# --------------------------------------------------------------------------------------- disk full


def test_disk_full_writing_a_report_keeps_the_old_one_and_still_writes_the_index(
        tmp_path, fake_papermill, private_temp, monkeypatch, capsys):
    import nbformat

    out = tmp_path / "out"
    previous_build(out)
    disk_full(monkeypatch, "london.html")
    status = main(london(out))
    printed = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in printed.err + printed.out
    reason = next(line for line in printed.out.splitlines() if line.startswith("  regions/london.html: "))
    assert f"cannot write {out / 'regions' / 'london.html'}: the disk is full" in reason
    assert "free some space and run again" in reason
    assert (out / "regions" / "london.html").read_text(encoding="utf-8") == PREVIOUS  # old report intact
    kept = out / "executed" / "regions" / "london.ipynb"  # the run itself was whole: kept, and it is valid
    assert nbformat.read(kept, as_version=4).cells
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index != PREVIOUS and "the disk is full" in index and '<span class="status-ok">ok</span>' not in index
    assert leftovers(tmp_path) == []


def test_disk_full_cutting_the_executed_notebook_leaves_no_notebook_that_looks_valid(
        tmp_path, fake_papermill, private_temp, monkeypatch, capsys):
    import papermill

    def cut_off(input_path, output_path, **_options):
        text = Path(input_path).read_text(encoding="utf-8")
        Path(output_path).write_text(text[: len(text) // 3], encoding="utf-8")  # papermill's own write
        raise OSError(errno.ENOSPC, "No space left on device", output_path)

    monkeypatch.setattr(papermill, "execute_notebook", cut_off)
    disk_full(monkeypatch, "london.ipynb")  # and the failure note cannot be written either
    out = tmp_path / "out"
    previous_build(out)
    stale = out / "executed" / "regions" / "london.ipynb"  # kept by an older failed build
    stale.parent.mkdir(parents=True)
    stale.write_text('{"cells": []}', encoding="utf-8")
    status = main(london(out))
    printed = capsys.readouterr()
    assert status == 1 and "Traceback" not in printed.err + printed.out
    assert "the disk is full" in printed.out and "notebook kept: none" in printed.out
    assert not stale.exists()  # neither the cut-off run nor an older run's notebook
    assert (out / "regions" / "london.html").read_text(encoding="utf-8") == PREVIOUS
    state = json.loads((out / ".reports.json").read_text(encoding="utf-8"))
    assert [(e["relpath"], e["status"], e["executed"]) for e in state["reports"]] == [
        ("regions/london.html", "failed", "")]
    assert leftovers(tmp_path) == []


def test_disk_full_everywhere_is_one_line_about_the_index_and_nothing_half_written(
        tmp_path, fake_papermill, private_temp, monkeypatch, capsys):
    out = tmp_path / "out"
    previous_build(out)
    disk_full(monkeypatch)
    status = main(london(out))
    printed = capsys.readouterr()
    assert status == 1 and "Traceback" not in printed.err + printed.out
    errors = [line for line in printed.err.splitlines() if line.startswith("sendlib: ") and "kernels:" not in line]
    assert len(errors) == 1 and errors[0].startswith("sendlib: the index was not updated: cannot write ")
    assert "the disk is full" in errors[0]
    assert "(not updated: see below)" in printed.out
    assert (out / "index.html").read_text(encoding="utf-8") == PREVIOUS
    assert (out / "regions" / "london.html").read_text(encoding="utf-8") == PREVIOUS
    assert not (out / ".reports.json").exists()
    from sendlib.reports.runner import complete_notebook

    kept = [p for p in (out / "executed").rglob("*") if p.is_file()]  # the run was whole: moved, not written
    assert [p.name for p in kept] == ["london.ipynb"] and complete_notebook(kept[0])
    assert leftovers(tmp_path) == []


def test_disk_full_in_a_cli_csv_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "gap.csv"
    disk_full(monkeypatch)
    assert main(["gap", "--csv", str(target)]) == 1
    line = one_line(capsys.readouterr().err)
    assert line == (f"sendlib: cannot write {target} (--csv): the disk is full (no space left on the device); "
                    "free some space and run again")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------- a kernel that dies


def london_with_kernel(tmp_path: Path, monkeypatch, name: str, argv: list[str]):
    """Register a kernel spec `name` running python with `argv`, build London with it on the plain path into
    tmp_path/out, and return the report's result."""
    from sendlib.reports.params import select_reports
    from sendlib.reports.runner import run_build

    spec = tmp_path / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, *argv], "display_name": name,
                                                  "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    build = run_build(select_reports(regions=["London"]), tmp_path / "out", jobs=1, kernel_name=name,
                      kernels="plain", progress=False)
    [result] = build.results
    return result


def test_kernel_that_dies_at_start_up_points_to_the_run_log(tmp_path, private_temp, monkeypatch):

    crash = "import sys; print('sendlib-test: this kernel cannot start', file=sys.stderr); sys.exit(3)"
    out = tmp_path / "out"
    result = london_with_kernel(tmp_path, monkeypatch, "sendlib-dies", ["-c", crash, "{connection_file}"])
    assert result.status == "failed"
    log = out / "executed" / "last-run.log"
    assert f"(the kernel's output is in {log})" in result.reason
    assert "sendlib-test: this kernel cannot start" in log.read_text(encoding="utf-8")
    assert leftovers(tmp_path) == []


def test_a_kernel_that_dies_once_at_start_up_is_started_again(tmp_path, private_temp, monkeypatch):

    marker = tmp_path / "died-once"
    flaky = ("import os, sys, runpy\n"
             f"marker = {str(marker)!r}\n"
             "if not os.path.exists(marker):\n"
             "    open(marker, 'w').close(); sys.exit(3)  # as when another process took the kernel's port\n"
             "sys.argv = ['sendlib.reports.kernel'] + sys.argv[1:]\n"
             "runpy.run_module('sendlib.reports.kernel', run_name='__main__')")
    out = tmp_path / "out"
    result = london_with_kernel(tmp_path, monkeypatch, "sendlib-flaky", ["-c", flaky, "-f", "{connection_file}"])
    assert marker.exists() and result.status == "ok", result.reason
    assert (out / "regions" / "london.html").is_file()


# --------------------------------------------------------------------------------------- kernels


def test_fork_server_that_fails_to_start_falls_back_to_plain_kernels_in_one_line(
        tmp_path, fake_papermill, private_temp, monkeypatch, capsys):
    from sendlib.reports import forkserver

    monkeypatch.setenv("SENDLIB_KERNELS", "auto")
    broken = "import sys; sys.stderr.write('sendlib-test: the server broke\\n'); sys.exit(1)"
    monkeypatch.setattr(forkserver.ForkServer, "command", lambda self: [sys.executable, "-c", broken])
    out = tmp_path / "out"
    assert main(london(out)) == 0
    err = capsys.readouterr().err
    log = out / "executed" / "last-run.log"
    assert [line for line in err.splitlines() if "kernels:" in line] == [
        f"sendlib: kernels: plain (fork server unavailable: it exited with status 1 while starting; its output "
        f"is in {log})"]
    assert "sendlib-test: the server broke" in log.read_text(encoding="utf-8")
    assert (out / "regions" / "london.html").is_file()
    assert leftovers(tmp_path) == []


def test_fork_server_survives_a_stray_connection_and_leaves_no_socket_folder(private_temp):
    import socket

    from sendlib.reports.forkserver import ForkServer, _server_answers

    server = ForkServer(warm=False).start()
    try:
        assert server.wait_ready(60), server.problem
        folder = Path(server.folder)
        assert folder.parent == private_temp and _server_answers(folder)
        stray = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stray.connect(server.socket_path)
        stray.close()  # sends nothing: an older server crashed on this
        time.sleep(1.0)
        assert server.process.poll() is None
    finally:
        server.stop()
    assert list(private_temp.iterdir()) == []


def test_socket_folder_goes_to_tmp_when_the_temp_folder_is_too_deep(tmp_path, monkeypatch):
    from sendlib.reports.forkserver import ForkServer

    deep = tmp_path / ("deep" * 20)  # a socket path under it would not fit
    deep.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(deep))
    server = ForkServer(warm=False).start()
    try:
        assert server.wait_ready(60), server.problem
        assert Path(server.folder).parent == Path("/tmp")
    finally:
        server.stop()
    assert not Path(server.folder).exists() and list(deep.iterdir()) == []


# --------------------------------------------------------------------------------------- locks and run folders


def _hold(code: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start a Python process that runs `code`, prints a path and waits; return it and the path."""
    process = subprocess.Popen([*prefix, sys.executable, "-c", code + "\nimport sys, time\n"
                                "print(held.path, flush=True)\ntime.sleep(120)"], stdout=subprocess.PIPE, text=True,
                               env=env)
    line = process.stdout.readline().strip()
    assert line, "the holder did not start"
    return process, line


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()


def test_lock_held_too_long_is_a_named_error(tmp_path, fake_papermill, monkeypatch, capsys):
    from sendlib import io
    from sendlib.reports import files

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(files, "LOCK_TIMEOUT", 1.0)
    with open(out / files.LOCK_NAME, "a+b") as handle:
        assert io.try_lock(handle)
        status = main(london(out))
    assert status == 1
    line = one_line(capsys.readouterr().err)
    assert line == (f"sendlib: {out / files.LOCK_NAME} stayed locked for 1 s: another `sendlib reports` is still "
                    "writing there; wait for it to finish (or stop it) and run again")
    assert leftovers(tmp_path) == []


UNSHARE = ("unshare", "--pid", "--fork", "--kill-child")


def _can_unshare() -> bool:
    try:
        return subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.parametrize("namespace", ["same", "other"], ids=["same-pid-namespace", "other-pid-namespace"])
def test_a_live_run_folder_is_never_removed_and_a_dead_one_is_on_the_next_run(
        tmp_path, fake_papermill, private_temp, capsys, namespace):
    """Ownership is the lock, not a process id: a build in another PID namespace (another container on the
    same folder) keeps its folder while it lives."""
    if namespace == "other" and not _can_unshare():
        pytest.skip("cannot create a PID namespace here (unshare --pid needs privileges)")
    out = tmp_path / "out"
    out.mkdir()
    code = (f"from pathlib import Path\nfrom sendlib.reports import files\n"
            f"held = files.new_run_folder(Path({str(out)!r}))\n(held.path / 'worker-1.log').write_text('busy')")
    process, path = _hold(code, prefix=UNSHARE if namespace == "other" else ())
    live = Path(path)
    tag = live.name[len(".run-"):]
    writing = out / "regions" / f".london.html.{tag}.0123abcd.tmp"  # the live run's file being written
    writing.parent.mkdir()
    writing.write_text("half", encoding="utf-8")
    try:
        assert main(london(out)) == 0
        assert live.is_dir() and (live / "worker-1.log").read_text() == "busy" and writing.exists()
    finally:
        _kill(process)
    assert main(london(out)) == 0
    capsys.readouterr()
    assert not live.exists() and not writing.exists()
    assert leftovers(tmp_path) == []


def test_killed_data_build_staging_is_removed_by_the_next_build_but_a_live_one_is_not(tmp_path):
    from sendlib.build import build_all
    from sendlib.errors import InputFileError

    out = tmp_path / "processed"
    out.mkdir()
    code = (f"from pathlib import Path\nfrom sendlib.io import claim_folder\n"
            f"held = claim_folder(Path({str(out)!r}), '.build-')\n(held.path / 'ehcp.csv').write_text('x' * 1000)")
    killed, killed_path = _hold(code)
    _kill(killed)
    live, live_path = _hold(code)
    older = out / ".build-0a1b2c3d"  # left by an older sendlib (no lock file), an hour ago
    older.mkdir()
    os.utime(older, (time.time() - 3600, time.time() - 3600))
    recent = out / ".build-9f8e7d6c"  # no lock file yet, just created: could be a build starting right now
    recent.mkdir()
    try:
        with pytest.raises(InputFileError):
            build_all(tmp_path / "empty-raw", out)  # fails at once (no official files), after cleaning
        assert not Path(killed_path).exists() and not older.exists()
        assert Path(live_path).is_dir() and recent.is_dir()
    finally:
        _kill(live)


def test_killed_reports_socket_folder_is_removed_on_the_next_run(tmp_path, fake_papermill, private_temp):
    code = ("from pathlib import Path\nimport tempfile\nfrom sendlib.io import claim_folder\n"
            "held = claim_folder(Path(tempfile.gettempdir()), 'sendlib-ks-')")
    killed, killed_path = _hold(code, env={**os.environ, "TMPDIR": str(private_temp)})
    _kill(killed)
    assert Path(killed_path).parent == private_temp
    older = private_temp / "sendlib-ks-abc123"  # an older sendlib's (no lock file), its server long gone
    older.mkdir()
    (older / "kernels.sock").write_bytes(b"")
    os.utime(older, (time.time() - 3600, time.time() - 3600))
    assert main(london(tmp_path / "out")) == 0  # plain kernels: the clean-up runs anyway
    assert list(private_temp.iterdir()) == []


# --------------------------------------------------------------------------------------- interrupts and pipes


def test_ctrl_c_during_a_build_cleans_up_and_is_one_line(tmp_path, fake_papermill, private_temp, monkeypatch,
                                                         capsys):
    from sendlib.reports import runner

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "record", interrupted)
    out = tmp_path / "out"
    previous_build(out)
    status = main(london(out))
    err = capsys.readouterr().err
    assert status == 130
    lines = [line for line in err.splitlines() if "kernels:" not in line]
    assert lines == ["sendlib: interrupted (Ctrl-C): files already written are complete and nothing half-written "
                     "was kept; run the command again to finish"]
    assert leftovers(tmp_path) == []
    assert (out / "index.html").read_text(encoding="utf-8") == PREVIOUS


def test_ctrl_c_in_a_real_process_is_one_line_and_exit_130(tmp_path):
    driver = ("import sys\nfrom sendlib import cli\nprint('ready', flush=True)\n"
              "sys.exit(cli.main(['reports', '--region', 'London', '--out', sys.argv[1]]))")
    target = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", driver, str(target)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the command finished before the interrupt arrived")
    assert process.returncode == 130
    assert one_line(err).startswith("sendlib: interrupted (Ctrl-C)")
    left = [p.name for p in target.rglob("*")] if target.exists() else []
    assert not [n for n in left if n.startswith(".run-") or n.endswith(".tmp") or n.endswith(".html")], left


def test_closed_pipe_is_quiet_and_not_a_failure(monkeypatch, capfd):
    command_raising(monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    assert main([]) == 0
    assert capfd.readouterr().err == ""


# --------------------------------------------------------------------------------------- the error boundary


@pytest.mark.parametrize("exc, status, expected", [
    (ParameterError("--area", "Westt", "a region name"), 2, "sendlib: --area='Westt' is not valid: expected a region name"),
    (DataValidationError("ehcp", "column 'ehc_plans' holds '10.5bn'"), 1,
     "sendlib: data/processed/ehcp.csv: column 'ehc_plans' holds '10.5bn'"),
    (PermissionError(errno.EACCES, "Permission denied", "/data/x.csv"), 1,
     "sendlib: /data/x.csv: permission denied (the folder is read-only for you); choose a folder you can write "
     "to, or change its permissions"),
    (ZeroDivisionError("division by zero"), 1,
     "sendlib: internal error: ZeroDivisionError: division by zero (run again with --debug for the traceback and "
     "report it)"),
], ids=["usage", "data", "file-system", "unexpected"])
def test_every_failure_is_one_line_with_its_exit_status(monkeypatch, capsys, exc, status, expected):
    command_raising(monkeypatch, exc)
    assert main([]) == status
    assert one_line(capsys.readouterr().err) == expected


def test_debug_shows_the_traceback_then_the_line(monkeypatch, capsys):
    command_raising(monkeypatch, DataValidationError("ehcp", "cut off"))
    assert main(["--debug"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.rstrip().endswith("sendlib: data/processed/ehcp.csv: cut off")
    monkeypatch.setenv("SENDLIB_DEBUG", "1")
    assert main([]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_debug_is_accepted_after_the_subcommand(capsys):
    assert main(["reports", "--region", "Londn", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "sendlib: --region='Londn' is not valid" in err


@pytest.fixture
def processed_copy(tmp_path, monkeypatch) -> Path:
    """A copy of data/processed the commands read (SENDLIB_PROCESSED_DIR), to damage."""
    import shutil

    from sendlib.data import clear_cache

    copy = tmp_path / "processed"
    shutil.copytree(processed_dir(), copy)
    monkeypatch.setenv("SENDLIB_PROCESSED_DIR", str(copy))
    clear_cache()
    yield copy
    clear_cache()


def test_cut_off_manifest_is_one_line_naming_it(processed_copy, capsys):
    manifest = processed_copy / "MANIFEST.json"
    manifest.write_bytes(manifest.read_bytes()[:500])
    assert main(["data", "check"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "MANIFEST.json" in line


def test_malformed_csv_is_one_line_naming_it(processed_copy, capsys):
    (processed_copy / "areas.csv").write_text('area_code,area_name\n"E92000001,England\n', encoding="utf-8")
    assert main(["gap"]) == 1
    assert "areas.csv" in one_line(capsys.readouterr().err)


# --------------------------------------------------------------------------------------- output paths


def test_csv_onto_a_folder_under_a_file_or_into_a_read_only_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert main(["gap", "--csv", str(folder)]) == 1
    assert one_line(capsys.readouterr().err) == (f"sendlib: cannot write {folder} (--csv): it is a folder; give a "
                                                 f"file name, e.g. {folder / 'table.csv'}")
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["compare", "--csv", str(blocker / "groups.csv")]) == 1
    assert one_line(capsys.readouterr().err) == (f"sendlib: cannot write {blocker / 'groups.csv'} (--csv): {blocker} "
                                                 "is a file, not a folder; give a path whose folders are folders")
    created = tmp_path / "new" / "sub" / "gap.csv"  # a missing folder is created, as gap always did
    assert main(["gap", "--csv", str(created)]) == 0 and created.is_file()
    capsys.readouterr()
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    deny_writes(monkeypatch, read_only)
    assert main(["gap", "--csv", str(read_only / "gap.csv")]) == 1
    line = one_line(capsys.readouterr().err)
    monkeypatch.undo()
    assert line.startswith(f"sendlib: cannot write {read_only / 'gap.csv'} (--csv): permission denied")
    assert list(read_only.iterdir()) == []


def test_reports_out_that_is_a_file_read_only_or_empty(tmp_path, monkeypatch, capsys):
    a_file = tmp_path / "outputs"
    a_file.write_text("not a folder", encoding="utf-8")
    assert main(london(a_file)) == 1
    assert one_line(capsys.readouterr().err) == (f"sendlib: cannot write {a_file} (--out): it is a file, not a "
                                                 "folder; give a folder name")
    assert main(london(a_file / "sub")) == 1
    assert f"{a_file} is a file, not a folder" in one_line(capsys.readouterr().err)
    assert main(["reports", "--region", "London", "--out", ""]) == 2
    assert one_line(capsys.readouterr().err) == "sendlib: --out='' is not valid: expected a folder name"
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    deny_writes(monkeypatch, read_only)
    status = main(london(read_only))
    line = one_line(capsys.readouterr().err)
    monkeypatch.undo()
    assert status == 1
    assert line.startswith(f"sendlib: cannot write {read_only} (--out): permission denied")
    assert list(read_only.iterdir()) == []


def test_download_dest_read_only_or_a_file_is_one_line_before_any_download(tmp_path, monkeypatch, capsys):
    from sendlib import download

    def no_download(*_args, **_kwargs):
        raise AssertionError("nothing may be downloaded")

    monkeypatch.setattr(download, "download_all", no_download)
    monkeypatch.setattr(download, "resolve", no_download)
    a_file = tmp_path / "raw"
    a_file.write_text("x", encoding="utf-8")
    assert main(["data", "download", "--dest", str(a_file)]) == 1
    assert one_line(capsys.readouterr().err) == (f"sendlib: cannot write {a_file} (--dest): it is a file, not a "
                                                 "folder; give a folder name")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    deny_writes(monkeypatch, read_only)
    status = main(["data", "download", "--dest", str(read_only / "raw")])
    line = one_line(capsys.readouterr().err)
    monkeypatch.undo()
    assert status == 1
    assert line.startswith(f"sendlib: cannot write {read_only / 'raw'} (--dest): permission denied")
    assert list(read_only.iterdir()) == []


# --------------------------------------------------------------------------------------- permissions


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_outputs_honour_the_umask(tmp_path, umask_027, fake_papermill, private_temp, capsys):
    from sendlib.download import write_record
    from sendlib.io import create_temp

    assert main(["gap", "--csv", str(tmp_path / "gap.csv")]) == 0
    assert main(["compare", "--csv", str(tmp_path / "compare.csv")]) == 0
    out = tmp_path / "out"
    assert main(london(out)) == 0
    capsys.readouterr()
    write_record(tmp_path, {"files": {}})
    descriptor, temp = create_temp(tmp_path, ".download.", ".part")
    os.close(descriptor)
    for path in [tmp_path / "gap.csv", tmp_path / "compare.csv", out / "regions" / "london.html",
                 out / "index.html", out / ".reports.json", tmp_path / "DOWNLOADS.json", temp]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_the_repository_ignores_build_staging_folders():
    ignored = subprocess.run(["git", "check-ignore", "-q", "data/processed/.build-0123456789abcdef/ehcp.csv"],
                             cwd=REPO_ROOT)
    assert ignored.returncode == 0


def test_output_file_check_refuses_before_any_work_and_dash_is_standard_output(tmp_path, capsys):
    import pandas as pd

    from sendlib.errors import OutputFileError
    from sendlib.io import check_output_file, write_csv_atomic

    with pytest.raises(ParameterError, match=r"--csv='' is not valid: expected a file name \(or - for standard"):
        check_output_file("", "--csv")
    with pytest.raises(OutputFileError, match=rf"cannot write {tmp_path} \(--csv\): it is a folder; give a file name"):
        check_output_file(tmp_path, "--csv")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputFileError, match="a-file is a file, not a folder"):
        check_output_file(tmp_path / "a-file" / "x.csv", "--csv")
    assert check_output_file(tmp_path / "new" / "x.csv", "--csv") == str(tmp_path / "new" / "x.csv")
    assert check_output_file("-", "--csv") == "-" and check_output_file(None, "--csv") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # the check creates nothing
    assert write_csv_atomic(pd.DataFrame({"area": ["886"], "gap_gbp": [1.5]}), "-") is None
    assert capsys.readouterr().out == "area,gap_gbp\n886,1.5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
