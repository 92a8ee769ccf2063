"""`sendlib reports`: execute the report notebooks with papermill and export them to HTML.

Design (see also forkserver.py): the runner starts the kernel fork server, imports papermill and
nbconvert once, then forks `--jobs` worker processes (each builds one HTMLExporter). A worker runs a
notebook with papermill on the `sendlib` kernel (a fresh kernel process forked from the pre-warmed server,
working directory notebooks/, a per-cell timeout), exports it and writes the HTML atomically. A failing
notebook is kept under outputs/executed/ and reported; the others go on. Results are merged into
outputs/index.html as they arrive, under a lock, so concurrent builds and killed builds never leave a
partial or corrupt file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sendlib.errors import ParameterError, SendlibError
from sendlib.reports import files
from sendlib.reports.index import Entry, record
from sendlib.reports.params import Report, check_reports, select_reports

KERNEL_NAME = "sendlib"
EXECUTED = "executed"
REASON_LIMIT = 400


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


def kernel_uses_fork_server(kernel_name: str) -> bool:
    """Return True if the kernel spec starts kernels through sendlib's launcher; error if it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from sendlib.reports.kernel import is_fork_aware

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise SendlibError(f"the Jupyter kernel {kernel_name!r} is not registered: run `make install` "
                           "(or `python -m sendlib.reports.kernel install --sys-prefix`)") from None
    if is_fork_aware(spec.argv):
        return True
    print(f"sendlib: kernel {kernel_name!r} starts ipykernel directly, so every notebook pays the full "
          "start-up; run `python -m sendlib.reports.kernel install --sys-prefix` for pre-warmed kernels",
          file=sys.stderr)
    return False


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
    log = os.open(settings.run_dir / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    if settings.server:
        os.environ[SERVER_ENV] = settings.server
    else:
        os.environ.pop(SERVER_ENV, None)
    if _EXPORTER is None:  # normally built and warmed in the runner before the fork
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


def _keep_failed(report: Report, partial: Path, reason: str, settings: Settings) -> str:
    """Keep the failed notebook under outputs/executed/ (the partial run, else the input); return its path."""
    relpath = f"{EXECUTED}/{report.stem}.ipynb"
    target = settings.out / relpath
    if partial.is_file():
        files.move_atomic(partial, target)
        return relpath
    notebook = json.loads(report.notebook.read_text(encoding="utf-8"))
    note = {"cell_type": "markdown", "metadata": {"tags": ["sendlib-failure"]},
            "source": f"**This notebook did not run to the end.** {reason}\n\nParameters: {report.params}"}
    notebook["cells"] = [note] + notebook.get("cells", [])
    files.write_atomic(target, json.dumps(notebook, indent=1, ensure_ascii=False))
    return relpath


def run_one(report: Report) -> Result:
    """Execute one notebook with papermill and export it; never raises (failures become a Result)."""
    import papermill
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    from sendlib.reports.export import export_html, now_text

    settings = _SETTINGS
    assert settings is not None, "run_one runs in a worker started by build_reports"
    started = time.perf_counter()
    partial = settings.run_dir / (report.stem.replace("/", "__") + ".ipynb")
    timings: dict[str, float] = {}
    try:
        nb = papermill.execute_notebook(
            str(report.notebook), str(partial), parameters=report.params, kernel_name=settings.kernel_name,
            cwd=str(report.notebook.parent), execution_timeout=settings.timeout, start_timeout=120,
            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            shutdown_kernel="immediate")
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
    except PapermillExecutionError as exc:
        reason = _one_line(f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}")
    except CellTimeoutError:
        reason = f"a cell ran longer than the per-cell limit of {settings.timeout} s (--timeout)"
    except Exception as exc:  # a dead kernel, a timeout, an export error: report it, go on
        reason = _one_line(f"{type(exc).__name__}: {exc}")
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


def _entry(result: Result) -> Entry:
    """Return the index entry of a result."""
    report = result.report
    return Entry(relpath=report.relpath, kind=report.kind, title=report.title, area_code=report.area_code,
                 status=result.status, reason=result.reason, built_at=result.built_at,
                 seconds=round(result.seconds, 2), executed=result.executed)


def _progress(total: int, enabled: bool | None) -> Any:
    """Return a tqdm bar on stderr (no monitor thread, so later forks stay thread-free)."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    return tqdm(total=total, desc="reports", unit="report", disable=disable, file=sys.stderr)


def _run_pool(reports: list[Report], settings: Settings, jobs: int, on_result: Any) -> list[Report]:
    """Run reports in a fork-based worker pool; call on_result for each; return those lost to a dead worker."""
    lost: list[Report] = []
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(settings,))
    try:
        futures: dict[Future, Report] = {pool.submit(run_one, report): report for report in reports}
        for future in as_completed(futures):
            try:
                on_result(future.result())
            except BrokenProcessPool:
                lost.append(futures[future])
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return lost


def build_reports(reports: list[Report], out: Path, jobs: int | None = None, timeout: int = 600,
                  kernel_name: str = KERNEL_NAME, fork_server: bool = True,
                  progress: bool | None = None) -> list[Result]:
    """Execute and export the reports into `out`, updating index.html; return one Result per report."""
    global _EXPORTER
    from sendlib.geography import areas
    from sendlib.reports.export import now_text, provenance
    from sendlib.reports.forkserver import ForkServer

    reports = list(reports)
    registry = areas()
    check_reports(reports, registry)
    if timeout < 1:
        raise ParameterError("--timeout", timeout, "a whole number of seconds, at least 1")
    jobs = default_jobs(jobs, len(reports))
    use_server = fork_server and kernel_uses_fork_server(kernel_name)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    server = ForkServer().start() if use_server else None
    run_dir: Path | None = None
    results: list[Result] = []
    try:
        with files.locked(out):
            files.clean_stale(out)
            run_dir = files.new_run_folder(out)
        _import_papermill()
        shared = provenance()
        _EXPORTER = warm_exporter(shared)
        socket_path = None
        if server is not None:
            if server.wait_ready():
                socket_path = server.socket_path
            else:
                print("sendlib: the kernel fork server did not start; using normal kernels", file=sys.stderr)
        settings = Settings(out, run_dir, timeout, kernel_name, socket_path, shared,
                            dict(zip(registry["area_code"], registry["area_name"], strict=True)))
        bar = _progress(len(reports), progress)

        def on_result(result: Result) -> None:
            """Record a result: the list, the index, the progress bar."""
            results.append(result)
            record(out, [_entry(result)], shared, now_text())
            bar.update(1)
            if bar.disable and progress is None:
                mark = "ok    " if result.ok else "FAILED"
                print(f"  {mark} {result.report.relpath} ({result.seconds:.1f} s)"
                      + (f": {result.reason}" if result.reason else ""), file=sys.stderr)

        pending = reports
        for _attempt in range(3):
            pending = _run_pool(pending, settings, jobs, on_result)
            if not pending:
                break
        for report in pending:
            on_result(Result(report, "failed", 0.0, now_text(), reason="its worker process died"))
        bar.close()
        if any(not r.ok for r in results):
            _keep_logs(run_dir, out)
    finally:
        if server is not None:
            server.stop()
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
    order = {r.relpath: i for i, r in enumerate(reports)}
    return sorted(results, key=lambda r: order[r.report.relpath])


def _keep_logs(run_dir: Path, out: Path) -> None:
    """Keep the workers' and kernels' output of a build with failures as outputs/executed/last-run.log."""
    logs = sorted(run_dir.glob("worker-*.log"))
    text = "\n".join(f"===== {p.name}\n{p.read_text(encoding='utf-8', errors='replace')}" for p in logs)
    files.write_atomic(out / EXECUTED / "last-run.log", text)


def summarise(results: list[Result], out: Path, seconds: float) -> str:
    """Return the closing summary: counts, time, each failure with its reason, and the index path."""
    failed = [r for r in results if not r.ok]
    lines = [f"Built {len(results) - len(failed)} of {len(results)} reports in {seconds:.1f} s "
             f"into {out}" + (f"; {len(failed)} failed:" if failed else ".")]
    lines += [f"  {r.report.relpath}: {r.reason} (notebook kept: {out / r.executed if r.executed else 'none'})"
              for r in failed]
    lines.append(f"Index: {out / 'index.html'}")
    return "\n".join(lines)


def command_reports(args: argparse.Namespace) -> int:
    """Handle `sendlib reports`: select and check (exit 2 on a bad parameter), build, summarise (exit 1 on failure)."""
    from sendlib.paths import outputs_dir

    started = time.perf_counter()
    reports = select_reports(england=args.england, regions=args.region, all_regions=args.all_regions,
                             las=args.la, all_las=args.all_las, all_=args.all)
    default_jobs(args.jobs, len(reports))
    out = Path(args.out) if args.out else outputs_dir()
    results = build_reports(reports, out, jobs=args.jobs, timeout=args.timeout)
    print(summarise(results, out.resolve(), time.perf_counter() - started))
    return 0 if all(r.ok for r in results) else 1
