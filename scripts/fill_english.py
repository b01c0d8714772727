"""English is the source language: its catalogue repeats each message.
Run by `make update-translations` after new messages are extracted."""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"

with CATALOGUE.open("rb") as handle:
    catalogue = read_po(handle, locale="en")
for message in catalogue:
    if message.id:
        message.string = message.id
        message.flags.discard("fuzzy")
with CATALOGUE.open("wb") as handle:
    write_po(handle, catalogue, width=0, no_location=True, sort_output=True)
