"""Notebook reports: `sendlib reports` (sendlib.commands.reports) executes the England, region and LA notebooks
with papermill (kernels forked from a pre-warmed server on Linux, plain kernels elsewhere) and exports
self-contained HTML with an index.

Modules: params (selection and parameter checks), runner (execution), export (HTML), index (index.html
and the state of outputs/), files (atomic writes and the lock), kernel (the kernel launcher) and
forkserver (the pre-warmed kernel factory). This file stays empty: the kernel launcher imports the package.
"""
