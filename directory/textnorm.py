"""Text folding shared by search and sorting: Latvian and Lithuanian letters
compare equal to their plain Latin base letters (ā→a, č→c, ė→e, ų→u, ž→z…)."""

import unicodedata


def strip_diacritics(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def sort_key(value: str) -> str:
    return strip_diacritics(value).casefold()
