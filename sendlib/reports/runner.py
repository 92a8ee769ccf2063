"""`sendlib reports`: execute the report notebooks with papermill and export them to HTML.

Design (see also forkserver.py): the runner chooses the kernels (pre-warmed kernels forked from the fork
server where it can run, i.e. Linux; plain papermill kernels elsewhere, when the server fails to start, or
when asked with --kernels plain / SENDLIB_KERNELS=plain) and says which in one line. It imports papermill
and nbconvert once, then starts `--jobs` worker processes ('fork' on Linux, so workers inherit the warmed
HTMLExporter; 'spawn' where fork is missing). A worker runs a notebook with papermill on the `sendlib`
kernel (working directory notebooks/, a per-cell timeout), exports it and writes the HTML atomically. A
failing notebook is kept under outputs/executed/ (only if it is a complete notebook) and reported; the
others go on. Results are merged into outputs/index.html as they arrive, under a lock, so concurrent builds
and killed builds never leave a partial or corrupt file; a failure to write the index does not stop the
build, and the index is written again at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sendlib import io
from sendlib.errors import ParameterError, SendlibError
from sendlib.reports import files
from sendlib.reports.index import Entry, record
from sendlib.reports.params import Report, check_reports, select_reports

KERNEL_NAME = "sendlib"
EXECUTED = "executed"
LOG_NAME = "last-run.log"
REASON_LIMIT = 400
#: A kernel that dies before replying to kernel_info (jupyter_client's port race: the ports it picked were taken
#: before the kernel bound them) is started again, up to this many times in all.
START_ATTEMPTS = 3
KERNELS_ENV = "SENDLIB_KERNELS"
KERNEL_MODES = ("auto", "fast", "plain")


@dataclass
class Settings:
    """What every worker needs for the whole build (sent once, to the pool initialiser)."""

    out: Path
    run_dir: Path
    timeout: int
    kernel_name: str
    server: str | None
    shared: dict[str, Any]
    area_names: dict[str, str]
    run_tag: str | None = None

    @property
    def log(self) -> Path:
        """Return where the workers' and kernels' output is kept after a failure."""
        return self.out / EXECUTED / LOG_NAME


@dataclass
class Result:
    """The outcome of one report."""

    report: Report
    status: str
    seconds: float
    built_at: str
    reason: str = ""
    executed: str = ""
    html_bytes: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Return True if the report was built."""
        return self.status == "ok"


# --------------------------------------------------------------------------------------- kernel


def requested_kernels(option: str | None) -> tuple[str, str]:
    """Return (auto, fast or plain; where it was set): --kernels, else env SENDLIB_KERNELS, else auto."""
    if option is not None:
        value, source = option, "--kernels"
    else:
        value, source = os.environ.get(KERNELS_ENV, ""), KERNELS_ENV
        if not value.strip():
            return "auto", ""
    mode = value.strip().lower()
    if mode not in KERNEL_MODES:
        raise ParameterError(source, value, "auto, fast or plain")
    return mode, source


def fork_server_unavailable() -> str | None:
    """Return why the kernel fork server cannot run on this machine, or None if it can."""
    system = {"win32": "Windows", "darwin": "macOS", "cygwin": "Cygwin"}.get(sys.platform, sys.platform)
    if not hasattr(os, "fork"):
        return f"{system} has no os.fork"
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return f"{system} cannot pass file descriptors over Unix sockets"
    if "fork" not in multiprocessing.get_all_start_methods():
        return f"{system} has no 'fork' start method"
    if not sys.platform.startswith("linux"):
        return f"it runs on Linux only and this is {system}"
    return None


def pool_start_method() -> str:
    """Return the workers' start method: 'fork' on Linux (they inherit the warmed exporter), else 'spawn'."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def kernel_spec_argv(kernel_name: str) -> list[str]:
    """Return the argv of the registered kernel spec; SendlibError naming the command that registers it."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return list(KernelSpecManager().get_kernel_spec(kernel_name).argv)
    except NoSuchKernel:
        raise SendlibError(f"the Jupyter kernel {kernel_name!r} is not registered: run `make install` (or "
                           f"`{sys.executable} -m sendlib.reports.kernel install --sys-prefix`)") from None


def choose_kernels(option: str | None, kernel_name: str = KERNEL_NAME) -> tuple[bool, str]:
    """Return (use the fork server?, why plain kernels if not); ParameterError if `fast` cannot run here."""
    from sendlib.reports.kernel import is_fork_aware

    mode, source = requested_kernels(option)
    argv = kernel_spec_argv(kernel_name)
    if mode == "plain":
        return False, f"{source} plain" if source == "--kernels" else f"{source}=plain"
    problem = fork_server_unavailable()
    if problem is None and not is_fork_aware(argv):
        problem = (f"the kernel spec {kernel_name!r} starts ipykernel directly; run `make install` to "
                   "register sendlib's launcher")
    if problem is None:
        return True, ""
    if mode == "fast":
        raise ParameterError(source, "fast", f"auto or plain: pre-warmed kernels cannot run here ({problem})")
    return False, f"fork server unavailable: {problem}"


def kernels_line(fast: bool, why_plain: str) -> str:
    """Return the one line that says which kernels the build uses."""
    return "sendlib: kernels: pre-warmed (fork server)" if fast else f"sendlib: kernels: plain ({why_plain})"


# --------------------------------------------------------------------------------------- worker

_SETTINGS: Settings | None = None
_EXPORTER: Any = None


def _watch_parent(parent: int) -> None:
    """Exit the worker if the runner dies (its kernels then notice their launcher has gone)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(settings: Settings) -> None:
    """Prepare a worker: settings, log file, parent watch, kernel server variable, one HTMLExporter."""
    global _SETTINGS, _EXPORTER
    from sendlib.reports.export import build_exporter
    from sendlib.reports.kernel import SERVER_ENV

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SETTINGS = settings
    files.use_run(settings.run_tag)
    log = os.open(settings.run_dir / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    if settings.server:
        os.environ[SERVER_ENV] = settings.server
    else:
        os.environ.pop(SERVER_ENV, None)
    if _EXPORTER is None:  # built and warmed in the runner before a fork; a spawned worker builds its own
        _import_papermill()
        _EXPORTER = build_exporter()


def warm_exporter(shared: dict[str, Any]) -> Any:
    """Build the HTMLExporter and export a tiny notebook once, so forked workers inherit compiled templates."""
    import nbformat

    from sendlib.reports.export import build_exporter, export_html

    exporter = build_exporter()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Warm-up")])
    export_html(notebook, Report("custom", Path("warm-up.ipynb"), "warm-up.html", "Warm-up"), shared, {}, exporter)
    return exporter


def _one_line(text: object) -> str:
    """Return text as one line of at most REASON_LIMIT characters (ANSI colours removed)."""
    import re

    flat = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split())
    return flat if len(flat) <= REASON_LIMIT else flat[: REASON_LIMIT - 1] + "…"


def complete_notebook(path: Path) -> bool:
    """Return True if the file is a whole notebook (not one cut off by a full disk or a kill)."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception:
        return False
    return isinstance(notebook.get("cells"), list)


def _keep_failed(report: Report, partial: Path, reason: str, settings: Settings) -> str:
    """Keep the failed notebook under outputs/executed/ (the partial run if whole, else the input); return it.

    If it cannot be written, an older notebook kept for this report is removed: it would belong to another run.
    """
    relpath = f"{EXECUTED}/{report.stem}.ipynb"
    target = settings.out / relpath
    try:
        if partial.is_file() and complete_notebook(partial):
            files.move_atomic(partial, target)
            return relpath
        notebook = json.loads(report.notebook.read_text(encoding="utf-8"))
        lost = " The partial run could not be saved." if partial.exists() else ""
        note = {"cell_type": "markdown", "metadata": {"tags": ["sendlib-failure"]},
                "source": f"**This notebook did not run to the end.** {reason}{lost}\n\n"
                          f"Parameters: {report.params}"}
        notebook["cells"] = [note] + notebook.get("cells", [])
        files.write_atomic(target, json.dumps(notebook, indent=1, ensure_ascii=False))
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    return relpath


def _failure_reason(exc: BaseException, report: Report, settings: Settings) -> str:
    """Return one line saying why a report failed and where to look."""
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return _one_line(f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}")
    if isinstance(exc, CellTimeoutError):
        return f"a cell ran longer than the per-cell limit of {settings.timeout} s (--timeout)"
    if isinstance(exc, SendlibError):
        return _one_line(exc)
    if isinstance(exc, OSError):
        return _one_line(io.output_error(exc, exc.filename or settings.out / report.relpath))
    # a kernel that died or never started, an export error: the kernel's own output says why
    return _one_line(f"{type(exc).__name__}: {exc}") + f" (the kernel's output is in {settings.log})"


def run_one(report: Report) -> Result:
    """Execute one notebook with papermill and export it; never raises (failures become a Result)."""
    import papermill

    from sendlib.reports.export import export_html, now_text

    settings = _SETTINGS
    assert settings is not None, "run_one runs in a worker started by build_reports"
    started = time.perf_counter()
    partial = settings.run_dir / (report.stem.replace("/", "__") + ".ipynb")
    timings: dict[str, float] = {}
    try:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                nb = papermill.execute_notebook(
                    str(report.notebook), str(partial), parameters=report.params, kernel_name=settings.kernel_name,
                    cwd=str(report.notebook.parent), execution_timeout=settings.timeout, start_timeout=120,
                    progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                    shutdown_kernel="immediate")
                break
            except RuntimeError as exc:  # a kernel that died at start-up, e.g. on a port another took meanwhile
                if "kernel_info" not in str(exc) or attempt == START_ATTEMPTS:
                    raise
                print(f"sendlib: {report.relpath}: the kernel died at start-up ({exc}); starting another",
                      file=sys.stderr)
        timings["execute"] = time.perf_counter() - started
        built_at = now_text()
        page = export_html(nb, report, settings.shared, settings.area_names, _EXPORTER, built_at)
        files.write_atomic(settings.out / report.relpath, page)
        timings["export"] = time.perf_counter() - started - timings["execute"]
        with contextlib.suppress(OSError):
            (settings.out / EXECUTED / f"{report.stem}.ipynb").unlink()
        with contextlib.suppress(OSError):
            partial.unlink()
        return Result(report, "ok", time.perf_counter() - started, built_at,
                      html_bytes=len(page.encode("utf-8")), timings=timings)
    except Exception as exc:  # a failing cell, a dead kernel, a full disk, an export error: report it, go on
        reason = _failure_reason(exc, report, settings)
    try:
        executed = _keep_failed(report, partial, reason, settings)
    except Exception as exc:
        executed, reason = "", _one_line(f"{reason} (could not keep the notebook: {exc})")
    return Result(report, "failed", time.perf_counter() - started, now_text(), reason=reason, executed=executed)


# --------------------------------------------------------------------------------------- runner


def _import_papermill() -> None:
    """Import papermill before forking, hiding rfc3987_syntax (jsonschema's optional IRI checker, 1.5-2 s)."""
    # jsonschema imports rfc3987_syntax only to check "iri" formats, which notebook schemas never use.
    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import papermill  # noqa: F401
    finally:
        if hide and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]


def default_jobs(jobs: int | None, count: int) -> int:
    """Return the number of workers: --jobs (default the number of cores), at most one per report."""
    if jobs is not None and jobs < 1:
        raise ParameterError("--jobs", jobs, "a whole number of at least 1")
    return max(1, min(jobs or os.cpu_count() or 1, count))


def _marks(shared: dict[str, Any]) -> str:
    """Return what makes a build not for sharing, in words ('' if nothing): tables that differ from MANIFEST.json,
    survey responses that are synthetic test data."""
    marks = [shared.get("modified") or "", "survey responses: synthetic test data" if shared.get("synthetic") else ""]
    return "; ".join(m for m in marks if m)


def _entry(result: Result, modified: str = "") -> Entry:
    """Return the index entry of a result (`modified`: the tables that differ from MANIFEST.json, '' if none)."""
    report = result.report
    return Entry(relpath=report.relpath, kind=report.kind, title=report.title, area_code=report.area_code,
                 status=result.status, reason=result.reason, built_at=result.built_at,
                 seconds=round(result.seconds, 2), executed=result.executed, modified=modified)


def _progress(total: int, enabled: bool | None) -> Any:
    """Return a tqdm bar on stderr (no monitor thread, so later forks stay thread-free)."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    return tqdm(total=total, desc="reports", unit="report", disable=disable, file=sys.stderr)


def _run_pool(reports: list[Report], settings: Settings, jobs: int, on_result: Any) -> list[Report]:
    """Run reports in a worker pool; call on_result for each; return those lost to a dead worker."""
    lost: list[Report] = []
    context = multiprocessing.get_context(pool_start_method())
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(settings,))
    try:
        futures: dict[Future, Report] = {pool.submit(run_one, report): report for report in reports}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                lost.append(futures[future])
                continue
            on_result(result)
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return lost


@dataclass
class Build:
    """What one `sendlib reports` run did: a result per report, the kernels used and any problem left."""

    results: list[Result]
    kernels: str
    problems: list[str] = field(default_factory=list)
    index_written: bool = True
    modified: str = ""  # the tables that differ from MANIFEST.json ('' if none)
    synthetic: bool = False  # the survey section was made from synthetic test responses


def build_reports(reports: list[Report], out: Path, jobs: int | None = None, timeout: int = 600,
                  kernel_name: str = KERNEL_NAME, fork_server: bool = True,
                  progress: bool | None = None, kernels: str | None = None) -> list[Result]:
    """Execute and export the reports into `out`, updating index.html; return one Result per report."""
    if not fork_server:
        kernels = "plain"
    return run_build(reports, out, jobs=jobs, timeout=timeout, kernel_name=kernel_name, kernels=kernels,
                     progress=progress).results


def run_build(reports: list[Report], out: Path, jobs: int | None = None, timeout: int = 600,
              kernel_name: str = KERNEL_NAME, kernels: str | None = None,
              progress: bool | None = None) -> Build:
    """Execute and export the reports into `out`, updating index.html; return the Build.

    `kernels` is auto (default; env SENDLIB_KERNELS), fast or plain. Parameters, the kernel spec and the
    output folder are checked before anything runs. The build works in a run folder it owns by a lock; an
    interruption (Ctrl-C) stops the workers and the server and removes the run folder before it propagates.
    """
    global _EXPORTER
    from sendlib.geography import areas
    from sendlib.reports.export import now_text, provenance
    from sendlib.reports.forkserver import ForkServer, clean_abandoned_socket_folders

    reports = list(reports)
    registry = areas()
    check_reports(reports, registry)
    if timeout < 1:
        raise ParameterError("--timeout", timeout, "a whole number of seconds, at least 1")
    jobs = default_jobs(jobs, len(reports))
    fast, why_plain = choose_kernels(kernels, kernel_name)
    out = Path(out).resolve()
    run: io.OwnedFolder | None = None
    server: ForkServer | None = None
    results: list[Result] = []
    problems: list[str] = []
    index_problem: list[str] = []
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
            with files.locked(out):
                files.clean_stale(out)
                run = files.new_run_folder(out)
        except OSError as exc:
            raise io.output_error(exc, out, "--out") from exc
        files.use_run(run.token)
        with contextlib.suppress(OSError):
            clean_abandoned_socket_folders()
        if fast:
            try:
                server = ForkServer(log=run.path / "forkserver.log").start()
            except OSError as exc:  # e.g. no writable temp folder for its socket
                fast, why_plain = False, f"fork server unavailable: {_one_line(io.output_error(exc, exc.filename))}"
        _import_papermill()
        shared = provenance()
        _EXPORTER = warm_exporter(shared)
        socket_path = None
        if server is not None:
            if server.wait_ready():
                socket_path = server.socket_path
            else:
                fast, why_plain = False, (f"fork server unavailable: {server.problem}; its output is in "
                                          f"{out / EXECUTED / LOG_NAME}")
        line = kernels_line(fast, why_plain)
        print(line, file=sys.stderr)
        settings = Settings(out, run.path, timeout, kernel_name, socket_path, shared,
                            dict(zip(registry["area_code"], registry["area_name"], strict=True)), run.token)
        bar = _progress(len(reports), progress)

        def write_index(entries: list[Entry]) -> None:
            """Merge entries into the index; remember (not raise) a failure, so the build goes on."""
            try:
                record(out, entries, shared, now_text())
                index_problem.clear()
            except (OSError, SendlibError) as exc:
                index_problem[:] = [_one_line(exc if isinstance(exc, SendlibError)
                                              else io.output_error(exc, exc.filename or out / "index.html"))]

        def on_result(result: Result) -> None:
            """Record a result: the list, the index, the progress bar."""
            results.append(result)
            write_index([_entry(result, _marks(shared))])
            bar.update(1)
            if bar.disable and progress is None:
                mark = ("ok (MODIFIED DATA)" if _marks(shared) else "ok    ") if result.ok else "FAILED"
                print(f"  {mark} {result.report.relpath} ({result.seconds:.1f} s)"
                      + (f": {result.reason}" if result.reason else ""), file=sys.stderr)

        pending = reports
        for _attempt in range(3):
            pending = _run_pool(pending, settings, jobs, on_result)
            if not pending:
                break
        for report in pending:
            on_result(Result(report, "failed", 0.0, now_text(),
                             reason=f"its worker process died (its output is in {settings.log})"))
        bar.close()
        if index_problem:  # try once more with every result, now that the workers are done
            write_index([_entry(r, _marks(shared)) for r in results])
        if index_problem:
            problems.append(f"the index was not updated: {index_problem[0]}")
        stopped = server.stopped_early() if server is not None else None
        if stopped is not None:
            print(f"sendlib: the fork server stopped during the build (exit status {stopped}); the reports "
                  "after that started plain kernels", file=sys.stderr)
        if any(not r.ok for r in results) or (server is not None and not socket_path) or stopped is not None:
            try:
                _keep_logs(run.path, out)
            except (OSError, SendlibError) as exc:
                if not problems:  # one line: a full disk that stopped the index says it already
                    problems.append(f"the log of this run was not kept: {_one_line(exc)}")
    finally:
        if server is not None:
            server.stop()
        if run is not None:
            run.remove()
        files.use_run(None)
    order = {r.relpath: i for i, r in enumerate(reports)}
    return Build(sorted(results, key=lambda r: order[r.report.relpath]), line, problems, not index_problem,
                 shared["modified"], bool(shared.get("synthetic")))


def _keep_logs(run_dir: Path, out: Path) -> None:
    """Keep the workers', kernels' and fork server's output of this run as outputs/executed/last-run.log."""
    logs = sorted(run_dir.glob("worker-*.log")) + sorted(run_dir.glob("forkserver.log"))
    text = "\n".join(f"===== {p.name}\n{p.read_text(encoding='utf-8', errors='replace')}" for p in logs)
    files.write_atomic(out / EXECUTED / LOG_NAME, text)


def summarise(results: list[Result], out: Path, seconds: float, index_written: bool = True,
              modified: str = "") -> str:
    """Return the closing summary: counts, time, each failure with its reason, and the index path (and, for a
    build from tables that differ from MANIFEST.json, that every report says so)."""
    failed = [r for r in results if not r.ok]
    lines = [f"Built {len(results) - len(failed)} of {len(results)} reports in {seconds:.1f} s "
             f"into {out}" + (" WITH MODIFIED DATA" if modified and len(failed) < len(results) else "")
             + (f"; {len(failed)} failed:" if failed else ".")]
    if modified:
        lines.insert(1, f"  MODIFIED DATA: tables that differ from MANIFEST.json ({modified}), allowed with "
                        "--allow-modified-data; each report says so in its header and footer, and they are not "
                        "sendlib's published figures")
    lines += [f"  {r.report.relpath}: {r.reason} (notebook kept: {out / r.executed if r.executed else 'none'})"
              for r in failed]
    lines.append(f"Index: {out / 'index.html'}" + ("" if index_written else " (not updated: see below)"))
    return "\n".join(lines)


def command_reports(args: argparse.Namespace) -> int:
    """Handle `sendlib reports`: check (exit 2 on a bad parameter, 1 on an unwritable --out), build, summarise."""
    from sendlib.paths import outputs_dir

    started = time.perf_counter()
    reports = select_reports(england=args.england, regions=args.region, all_regions=args.all_regions,
                             las=args.la, all_las=args.all_las, all_=args.all)
    default_jobs(args.jobs, len(reports))
    kernels = getattr(args, "kernels", None)
    requested_kernels(kernels)
    out = io.check_output_folder(args.out, "--out") if args.out is not None else outputs_dir()
    if args.out is None:
        io.check_output_folder(out, "--out")
    build = run_build(reports, out, jobs=args.jobs, timeout=args.timeout, kernels=kernels)
    print(summarise(build.results, out.resolve(), time.perf_counter() - started, build.index_written,
                    build.modified))
    if build.synthetic:
        print("  SYNTHETIC TEST DATA: the survey sections were made from synthetic test responses (data/feedback); "
              "every report says so in its header: do not share them")
    for problem in build.problems:
        print(f"sendlib: {problem}", file=sys.stderr)
    return 0 if all(r.ok for r in build.results) and not build.problems else 1
