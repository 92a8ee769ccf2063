"""`sendlib feedback template|import|summary|actions`: the survey of members and SENCOs. Output is counts only:
nothing personal (names, emails, phone numbers, free text) is ever printed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `feedback` subcommand and its actions to the CLI."""
    feedback = subparsers.add_parser("feedback", help="the survey of members and SENCOs: template, import, summary",
                                     description=__doc__)
    actions = feedback.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")

    template = actions.add_parser("template", help="write the question sheet, response layouts and data dictionary")
    template.add_argument("--out", default="outputs/feedback-template", help="folder to write "
                          "(default outputs/feedback-template)")

    imports = actions.add_parser("import", help="import Microsoft Forms, Google Forms or template exports")
    imports.add_argument("files", nargs="+", metavar="FILE", help="CSV or XLSX export(s)")
    imports.add_argument("--skip-invalid", action="store_true",
                         help="store the valid rows and write the others to data/feedback/rejected/")
    imports.add_argument("--date-order", choices=["dmy", "mdy"], default="dmy",
                         help="how to read dates like 03/04/2025: day first (dmy, default) or month first (mdy)")
    imports.add_argument("--names", action="append", default=[], metavar="FILE",
                         help="a list of names (people, schools) to redact from free text, one a line (repeatable; "
                              "data/feedback/names.txt is always used when present)")

    summary = actions.add_parser("summary", help="rebuild the disclosure-controlled summary; print respondents")
    summary.add_argument("--threshold", help="fewest respondents behind any figure (default 5; at least 3); "
                                             "kept for later imports")

    log = actions.add_parser("actions", help="the actions log: what the union did about the issues raised")
    log_actions = log.add_subparsers(dest="actions_command", required=True, metavar="ACTION")
    add = log_actions.add_parser("add", help="log one action")
    add.add_argument("--date", required=True, help="date of the action, e.g. 2025-03-14")
    add.add_argument("--la", required=True, help="the LA (name or code) or region it concerns")
    add.add_argument("--issue", required=True, help="the issue members raised")
    add.add_argument("--action", required=True, help="what the union did")
    add.add_argument("--status", required=True, help="Open, Raised with the council, Council responded, "
                                                     "Resolved or Closed")
    add.add_argument("--names", action="append", default=[], metavar="FILE", help="names to redact")
    log_import = log_actions.add_parser("import", help="import an actions log (Date, LA, Issue, Action, Status)")
    log_import.add_argument("file", metavar="FILE", help="CSV or XLSX")
    log_import.add_argument("--date-order", choices=["dmy", "mdy"], default="dmy")
    log_import.add_argument("--names", action="append", default=[], metavar="FILE", help="names to redact")
    feedback.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run a `sendlib feedback` action; return the exit status."""
    handler = {"template": _template, "import": _import, "summary": _summary, "actions": _actions}
    return handler[args.feedback_command](args)


def _template(args: argparse.Namespace) -> int:
    """Write the template files and list them."""
    from sendlib.feedback.store import display_path
    from sendlib.feedback.template import write_template

    paths = write_template(Path(args.out))
    print(f"Wrote the survey template to {display_path(Path(args.out))}:")
    for path in paths:
        print(f"  {path.name}")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    """Import exports; print counts only."""
    from sendlib.feedback import store
    from sendlib.feedback.importer import import_files, outside_feedback

    for path in outside_feedback(args.files):
        print(f"warning: {store.display_path(path)} is inside the repository but outside data/feedback/: move "
              "exports into data/feedback/ (git-ignored) so they cannot be committed", file=sys.stderr)
    result = import_files(args.files, skip_invalid=args.skip_invalid, order=args.date_order,
                          names_files=[Path(p) for p in args.names])
    print(f"Read {result.rows:,} row(s) from {len(result.files)} file(s): {result.added:,} new response(s), "
          f"{result.duplicates:,} already imported, {result.replaced:,} earlier submission(s) replaced by a later one "
          f"from the same email address, {result.rejected:,} rejected.")
    print(f"Contact details of {result.contacts:,} response(s) stored apart in "
          f"{store.display_path(store.feedback_dir() / store.CONTACTS)}; {result.redactions:,} personal detail(s) "
          "redacted from free text.")
    for path in result.rejected_files:
        print(f"Rejected rows and their problems: {path}")
    if result.synthetic:
        print("These are synthetic test responses: reports built from them say so and must not be shared.")
    _print_respondents()
    return EXIT_OK


def _summary(args: argparse.Namespace) -> int:
    """Rebuild the summary (optionally with a new threshold) and print the respondents by region."""
    from sendlib.feedback import store
    from sendlib.feedback.summary import write_summary

    if args.threshold is not None:
        store.check_threshold(args.threshold)
    if not (store.feedback_dir() / store.RESPONSES).is_file():
        if args.threshold is not None:
            store.set_threshold(args.threshold)
        print("No responses imported yet: run `sendlib feedback import FILE`.")
        return EXIT_OK
    if args.threshold is not None:
        store.set_threshold(args.threshold)
    write_summary()
    _print_respondents()
    return EXIT_OK


def _print_respondents() -> None:
    """Print respondents by region from the disclosure-controlled summary (counts only)."""
    import pandas as pd

    from sendlib.feedback import store
    from sendlib.feedback.summary import RESPONDENTS
    from sendlib.geography import areas

    path = store.feedback_dir() / store.SUMMARY
    if not path.is_file():
        return
    cells = pd.read_csv(path, dtype=str, keep_default_na=False)
    names = dict(zip(areas()["area_code"], areas()["area_name"], strict=True))
    threshold = store.threshold()
    counts = cells[(cells["table"] == RESPONDENTS) & (cells["row"] == RESPONDENTS)]
    print(f"Respondents in the reports (threshold {threshold}: smaller counts show as 'fewer than {threshold}'):")
    for region, group in counts.groupby("region_code", sort=True):
        total = group[group["column"] == region]
        councils = group[~group["column"].isin([region, "others"])]
        shown = int((councils["status"] == "shown").sum())
        value = total["value"].iloc[0] if len(total) and total["value"].iloc[0] else f"fewer than {threshold}"
        print(f"  {names.get(region, region):28s} {value:>6} in the tables; {len(councils)} council(s) with "
              f"responses, {shown} shown on their own")


def _actions(args: argparse.Namespace) -> int:
    """Add or import actions; print counts only."""
    from sendlib.feedback.actions import add_action, import_actions

    names = [Path(p) for p in args.names]
    if args.actions_command == "add":
        added, known = add_action(args.date, args.la, args.issue, args.action, args.status, names_files=names)
    else:
        added, known = import_actions(args.file, names_files=names, order=args.date_order)
    print(f"Actions log: {added:,} added, {known:,} already logged.")
    return EXIT_OK
