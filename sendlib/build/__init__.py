"""`sendlib data build`: official files in, tidy validated tables and MANIFEST.json out."""

from sendlib.build.pipeline import build_all

__all__ = ["build_all"]
