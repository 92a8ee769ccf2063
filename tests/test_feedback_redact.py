"""Redacting free text: email addresses, UK phone numbers and postcodes in the forms people write them, names
from a list (any case, as whole words) and the parts of respondents' own names; ordinary text is left alone."""

from __future__ import annotations

import pytest

from sendlib.feedback.redact import redact, redactor


@pytest.mark.parametrize("text, expected", [
    ("write to jo.bloggs+send@school.sch.uk today", "write to [email] today"),
    ("jo_b@example.org.uk, o'neil@ex-ample.com", "[email], [email]"),
    ("jo (at) example (dot) org", "[email]"),
    ("ring 07700 900123 or 07700900123", "ring [phone] or [phone]"),
    ("+44 7700 900123, +44 (0)20 7946 0018, 0044 161 496 0000", "[phone], [phone], [phone]"),
    ("(020) 7946-0018 or 0161.496.0000", "[phone] or [phone]"),
    ("at SW1A 1AA, b12 3cd and EC1A1BB", "at [postcode], [postcode] and [postcode]"),
    ("M1 1AE.", "[postcode]."),
])
def test_contact_details_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "In 2019 2020 2021 there were 12345 pupils; £1,200,000 cut; 20 weeks",
    "Year 6 and KS2 SATs; EHCP 20-week target; ratio 1:30",
    "Call it 0.5 FTE; 3 of 10 pupils",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_listed_names_are_redacted_as_whole_words_in_any_case():
    assert redact("Mrs Smith and JANE  SMITH said; Smithson did not", ["Jane Smith", "Mrs Smith"]) == \
        "[name] and [name] said; Smithson did not"
    assert redact("St Mary's Primary is short of TAs", ["St Mary's Primary"]) == "[name] is short of TAs"


def test_respondents_own_name_parts_are_redacted_and_counted():
    clean = redactor([], ["Ada Quibble-Lovelace", "Al B"])
    text, found = clean("Ada asked; quibble-lovelace's team; Al and B are too short to be names")
    assert text == "[name] asked; [name]'s team; Al and B are too short to be names"
    assert found == 2
