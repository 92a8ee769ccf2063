"""Time the report runner against the naive loop, and against the floor. Prints figures; asserts nothing.

    python benchmarks/reports.py [--jobs N] [--las] [--skip-naive] [--out DIR]

In one run:
  runner  `sendlib reports --all` (England + 9 regions) into OUT/runner
  build   `sendlib data build` (processed + derived tables) into scratch folders (OUT/processed, OUT/derived)
  plain   the same with `--kernels plain` (no fork server: what macOS and Windows run) into OUT/plain
  naive   for the same 10 reports, one after another: the papermill CLI, then
          `jupyter nbconvert --to html --no-input` (a fresh kernel and fresh imports for every report)
  floor   10 copies of notebooks/_floor.ipynb (a parameters cell, nothing else) through the same runner
  las     (--las) `sendlib reports --all-las` (153 current LAs) into OUT/las
and prints wall times, the runner/naive ratio, time per report, per report against the floor, peak memory
(sum of RSS and of PSS over the process tree, sampled with psutil; the largest single process from
getrusage) and the HTML sizes. Targets: runner >= 4x faster than naive; per report <= 1.3x the floor;
each HTML <= 2 MB; 153 LAs within 180 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NOTEBOOKS = REPO / "notebooks"
MB = 1024 * 1024


@dataclass
class Run:
    """What one timed command cost."""

    label: str
    seconds: float
    status: int
    peak_rss_mb: float
    peak_pss_mb: float


def _tree_memory(pid: int) -> tuple[float, float]:
    """Return (sum of RSS, sum of PSS) in MB over a process and its descendants (0 if unavailable)."""
    try:
        import psutil
    except ImportError:
        return 0.0, 0.0
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0.0, 0.0
    rss = pss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        except psutil.Error:
            continue
    return rss / MB, pss / MB


def timed(label: str, argv: list[str], env: dict[str, str] | None = None, quiet: bool = True) -> Run:
    """Run a command, sampling the memory of its process tree; return its wall time and peaks."""
    started = time.perf_counter()
    out = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(argv, cwd=REPO, env=env or os.environ.copy(), stdout=out, stderr=out)
    peaks = [0.0, 0.0]
    done = threading.Event()

    def sample() -> None:
        """Record the peak memory of the process tree every 0.25 s."""
        while not done.is_set():
            rss, pss = _tree_memory(process.pid)
            peaks[0], peaks[1] = max(peaks[0], rss), max(peaks[1], pss)
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return Run(label, seconds, status, peaks[0], peaks[1])


def area_codes() -> list[tuple[str, str]]:
    """Return (notebook parameter value, slug) for England and the 9 regions."""
    from sendlib.geography import areas, slug

    registry = areas()
    regions = registry[registry["level"] == "region"].sort_values("area_code")
    return [("", "england")] + [(r.area_code, slug(r.area_name)) for r in regions.itertuples()]


def naive_loop(out: Path) -> Run:
    """Time the naive loop: papermill CLI then nbconvert CLI, one report after another."""
    out.mkdir(parents=True, exist_ok=True)
    script = []
    for code, name in area_codes():
        notebook = NOTEBOOKS / ("england.ipynb" if not code else "region.ipynb")
        executed = out / f"{name}.ipynb"
        params = ["-r", "region", code] if code else []
        script.append([str(BIN / "papermill"), str(notebook), str(executed), "-k", "sendlib", "--cwd",
                       str(NOTEBOOKS), "--no-progress-bar", *params])
        script.append([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed),
                       "--output-dir", str(out)])
    env = {k: v for k, v in os.environ.items() if k != "SENDLIB_KERNEL_SERVER"}
    driver = ("import subprocess, sys, json\n"
              "for argv in json.loads(sys.argv[1]):\n"
              "    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n")
    return timed("naive loop", [sys.executable, "-c", driver, json.dumps(script)], env)


def floor_child(out: Path, jobs: int | None) -> int:
    """(In a subprocess) build 10 copies of the empty parameterised notebook through the runner."""
    from sendlib.reports.params import Report
    from sendlib.reports.runner import build_reports

    reports = [Report("custom", NOTEBOOKS / "_floor.ipynb", f"floor/floor-{i:02d}.html", f"Floor {i}",
                      code or "E92000001", (("area", code or "E92000001"),))
               for i, (code, _name) in enumerate(area_codes())]
    results = build_reports(reports, out, jobs=jobs, progress=False)
    return 0 if all(r.ok for r in results) else 1


def html_sizes(folder: Path) -> list[tuple[str, int]]:
    """Return (relative path, bytes) of every report HTML under a folder (index excluded)."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*.html")
                  if p.name != "index.html" and not p.name.startswith("."))


def describe_sizes(label: str, sizes: list[tuple[str, int]]) -> str:
    """Return one line summarising HTML sizes."""
    if not sizes:
        return f"  {label}: no HTML"
    values = [s for _, s in sizes]
    biggest = max(sizes, key=lambda item: item[1])
    over = sum(v > 2 * MB for v in values)
    return (f"  {label}: {len(values)} files, mean {sum(values) / len(values) / 1000:.0f} KB, "
            f"largest {biggest[1] / 1000:.0f} KB ({biggest[0]}), {over} over 2 MB")


def line(run: Run, reports: int) -> str:
    """Return the printed line for one timed run."""
    status = "" if run.status == 0 else f"  [exit {run.status}]"
    return (f"  {run.label:<22s} {run.seconds:7.1f} s   {run.seconds / reports:5.2f} s/report   "
            f"peak RSS sum {run.peak_rss_mb:6.0f} MB, PSS sum {run.peak_pss_mb:6.0f} MB{status}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="passed to the runner (default: cores)")
    parser.add_argument("--las", action="store_true", help="also build all 153 current LA reports")
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) naive loop")
    parser.add_argument("--out", default=str(REPO / ".bench" / "reports"), help="scratch folder")
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_child:
        return floor_child(Path(args.floor_child), args.jobs)

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    print(f"sendlib report benchmark: {os.cpu_count()} cores, jobs {args.jobs or os.cpu_count()}, "
          f"scratch {out}")
    runner = timed("runner (10 reports)", [str(BIN / "sendlib"), "reports", "--all", "--out",
                                            str(out / "runner"), *jobs])
    plain = timed("runner, plain kernels", [str(BIN / "sendlib"), "reports", "--all", "--kernels", "plain", "--out",
                                             str(out / "plain"), *jobs])
    floor = timed("floor (10 x _floor)", [sys.executable, __file__, "--floor-child", str(out / "floor"), *jobs])
    naive = None if args.skip_naive else naive_loop(out / "naive")
    las = timed("runner (153 LAs)", [str(BIN / "sendlib"), "reports", "--all-las", "--out", str(out / "las"),
                                     *jobs]) if args.las else None
    scratch = {**os.environ, "SENDLIB_PROCESSED_DIR": str(out / "processed"), "SENDLIB_DERIVED_DIR": str(out / "derived")}
    build = timed("data build + derive", [str(BIN / "sendlib"), "data", "build", "--quiet"], env=scratch)

    print("\nWall time")
    for run, count in [(runner, 10), (plain, 10), (floor, 10), (naive, 10), (las, 153), (build, 1)]:
        if run is not None:
            print(line(run, count))
    print("\nRatios")
    if naive is not None:
        print(f"  naive / runner          {naive.seconds / runner.seconds:5.2f}x   (target >= 4x)")
    print(f"  runner / floor          {runner.seconds / floor.seconds:5.2f}x   per report "
          f"{runner.seconds / 10:.2f} s against {floor.seconds / 10:.2f} s (target <= 1.3x)")
    print(f"  plain / runner          {plain.seconds / runner.seconds:5.2f}x   plain kernels against the fork "
          "server (target <= 2.5x)")
    if las is not None:
        print(f"  153 LAs                 {las.seconds:5.1f} s   (target <= 180 s)")
        print(f"  England + 9 regions + 153 LAs {runner.seconds + las.seconds:5.1f} s   (target <= 150 s)")
    print(f"  data build + derive     {build.seconds:5.1f} s   processed and derived tables into a scratch folder "
          "(target <= 20 s)")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nLargest single process (getrusage, children): {children:.0f} MB")
    print("\nHTML sizes (target <= 2 MB each)")
    print(describe_sizes("runner", html_sizes(out / "runner")))
    if naive is not None:
        print(describe_sizes("naive", html_sizes(out / "naive")))
    if las is not None:
        print(describe_sizes("LAs", html_sizes(out / "las")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
