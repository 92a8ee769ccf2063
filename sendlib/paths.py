"""Where the project's folders are: repository root, raw and processed data, outputs."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def processed_dir() -> Path:
    """Return the folder of committed processed tables (env SENDLIB_PROCESSED_DIR overrides)."""
    return Path(os.environ.get("SENDLIB_PROCESSED_DIR", REPO_ROOT / "data" / "processed"))


def derived_dir() -> Path:
    """Return the folder of committed derived tables (env SENDLIB_DERIVED_DIR overrides)."""
    return Path(os.environ.get("SENDLIB_DERIVED_DIR", REPO_ROOT / "data" / "derived"))


def raw_dir() -> Path:
    """Return the folder of official files as downloaded (git-ignored)."""
    return Path(os.environ.get("SENDLIB_RAW_DIR", REPO_ROOT / "data" / "raw"))


def external_dir() -> Path:
    """Return the folder of hand-transcribed public statements, each with its citation."""
    return REPO_ROOT / "data" / "external"


def reference_dir() -> Path:
    """Return the shared reference copies of the official files (may not exist)."""
    return Path(os.environ.get("SENDLIB_REFERENCE_DIR", REPO_ROOT.parent / "shared" / "reference"))


def default_raw_dir() -> Path:
    """Return data/raw if it holds downloaded files, else ../shared/reference when present."""
    raw = raw_dir()
    if raw.is_dir() and any(p.name != "README.md" for p in raw.iterdir()):
        return raw
    ref = reference_dir()
    return ref if ref.is_dir() else raw


def outputs_dir() -> Path:
    """Return the default folder for built reports."""
    return REPO_ROOT / "outputs"
