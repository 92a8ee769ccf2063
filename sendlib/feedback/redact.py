"""Redacting free text before it is stored for reports: email addresses, UK phone numbers, UK postcodes and
names from a list (the user's list plus the names respondents gave for a reply)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

EMAIL = re.compile(r"[A-Za-z0-9._%+'\-]+\s?(?:@|\(at\)|\[at\])\s?[A-Za-z0-9\-]+(?:\s?(?:\.|\(dot\))\s?[A-Za-z0-9\-]+)+")
#: +44 or 0 (optionally in brackets), then 9 or 10 more digits with spaces, dashes, dots or brackets between.
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)\s?44[\s\-.]{0,2}(?:\(0\)[\s\-.]{0,2})?|\(?0)\d(?:[\s\-.()]{0,2}\d){8,9}(?!\d)")
POSTCODE = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,2}\d[A-Za-z\d]?|GIR)\s*\d[A-Za-z]{2}(?![A-Za-z0-9])")
MARKS = {"email": "[email]", "phone": "[phone]", "postcode": "[postcode]", "name": "[name]"}
_MIN_NAME_PART = 3


@dataclass(frozen=True)
class Redactor:
    """Removes personal details from free text; build once per import with `redactor(names)`."""

    phrases: re.Pattern | None
    parts: re.Pattern | None

    def __call__(self, text: str) -> tuple[str, int]:
        """Return the text with personal details replaced by [email], [phone], [postcode], [name]; and how many."""
        total = 0
        for pattern, mark in ((EMAIL, MARKS["email"]), (PHONE, MARKS["phone"]), (POSTCODE, MARKS["postcode"]),
                              (self.phrases, MARKS["name"]), (self.parts, MARKS["name"])):
            if pattern is not None:
                text, found = pattern.subn(mark, text)
                total += found
        return text, total


def _phrase(name: str) -> str:
    """Return a regex for a name as a whole phrase, any spacing between its words."""
    return r"\s+".join(re.escape(word) for word in name.split())


def redactor(names: Iterable[str] = (), name_parts: Iterable[str] = ()) -> Redactor:
    """Return a Redactor for listed names (whole phrases) and contact names (also each part), in any case.

    `names` come from the user's list; `name_parts` are names respondents gave, whose first and last names are
    also removed on their own (parts shorter than three letters are ignored). Erring towards removing a word
    that only looks like a name ('May') is the price of never printing one.
    """
    phrases = sorted({" ".join(n.split()) for n in list(names) + list(name_parts) if len(n.strip()) >= 2},
                     key=len, reverse=True)
    parts = sorted({word.strip(".,'") for n in name_parts for word in n.split()
                    if len(word.strip(".,'")) >= _MIN_NAME_PART}, key=len, reverse=True)
    phrase_re = (re.compile(r"(?<!\w)(?:" + "|".join(_phrase(p) for p in phrases) + r")(?:'s)?(?!\w)", re.I)
                 if phrases else None)
    part_re = (re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in parts) + r")(?!\w)", re.I)
               if parts else None)
    return Redactor(phrase_re, part_re)


def redact(text: str, names: Iterable[str] = ()) -> str:
    """Return text with emails, UK phone numbers, UK postcodes and the listed names replaced."""
    return redactor(names)(text)[0]
