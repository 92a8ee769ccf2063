"""The union's survey of members and SENCOs: one definition (questions.toml), a printable sheet and response
layouts (template), safe import (importer: validation, pseudonyms, contacts split off, redaction), disclosure
control (disclosure, summary), the actions log (actions) and the reports' section (report.show_section).

Personal data stays in data/feedback/ (git-ignored; env SENDLIB_FEEDBACK_DIR overrides). Submodules are
imported where they are used, so that `import sendlib.feedback.report` in a report kernel stays cheap.
"""
