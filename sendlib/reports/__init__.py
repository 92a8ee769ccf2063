"""Notebook reports: `sendlib reports` executes the England, region and LA notebooks with papermill
(kernels forked from a pre-warmed server on Linux, plain kernels elsewhere) and exports self-contained HTML
with an index.

Modules: params (selection and parameter checks), runner (execution), export (HTML), index (index.html
and the state of outputs/), files (atomic writes and the lock), kernel (the kernel launcher) and
forkserver (the pre-warmed kernel factory). This file stays import-light: the kernel launcher imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def command_reports(args: argparse.Namespace) -> int:
    """Run `sendlib reports` (see sendlib.reports.runner.command_reports)."""
    from sendlib.reports.runner import command_reports as run

    return run(args)
