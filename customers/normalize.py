"""Normalised forms used to match customers across systems."""

import re
import unicodedata

_LEGAL_SUFFIXES = re.compile(r"\b(inc|incorporated|llc|ltd|limited|corp|corporation|co|company|plc|gmbh)\b")


def email_normalize(email: str) -> str:
    return (email or "").strip().lower()


def name_normalize(name: str) -> str:
    """Case, accents, punctuation, '&'/'and' and legal suffixes do not tell two customers apart."""
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = _LEGAL_SUFFIXES.sub(" ", text)
    return " ".join(word for word in text.split() if word != "and")


def postal_code_normalize(postal_code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (postal_code or "").upper())
