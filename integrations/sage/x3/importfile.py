"""X3 import files sent through the `AOWSIMPORT` sub-program, and the log it answers with.

An import file is records of `;`-separated fields, one record per line, the lines joined by the
record separator we declare in `I_RECORDSEP` (`|`) and closed by `END`. A document is a header line
(`H`) followed by its detail lines (`L`). X3 imports each document on its own and writes one log line
per document into `O_MESSA`, which is how a batch salvages the good documents around a bad one.
"""

import re
from dataclasses import dataclass
from datetime import date

RECORD_SEPARATOR = "|"
FIELD_SEPARATOR = ";"
END = "END"

Line = list[str]
Document = list[Line]

# The import templates as set up in X3 (GESAOE): which field each position of a line carries, per
# line kind. `PAY` = customer payments (PAYMENTH/PAYMENTD), `GACC` = journal entries (GACCENTRY/D).
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "PAY": {
        "H": ("PAYTYP", "BPR", "ACCDAT", "CUR", "AMTCUR", "REF", "DES", "BAN"),
        "L": ("VCRTYP", "VCRNUM", "AMTLIN"),
    },
    "GACC": {
        "H": ("TYP", "ACCDAT", "CUR", "REF", "DESVCR"),
        "L": ("ACCNUM", "BPR", "SNS", "AMTCUR", "DES"),
    },
}

_LOG_LINE = re.compile(
    r"^Record\s+(\d+)\s*:\s*(?:Error\s*:\s*(?P<error>.+)|Document\s+(?P<num>\S+)\s+created)", re.I
)


def import_field(value: str) -> str:
    """Our text inside a record: the separators cannot be escaped in an X3 import file."""
    return re.sub(r"[;|\r\n]+", " ", value).strip()


def import_date(value: date) -> str:
    return value.strftime("%Y%m%d")


def import_line(template: str, kind: str, values: dict[str, str]) -> Line:
    """One line of `template`, fields placed by name; a field left out is blank."""
    return [kind, *(values.get(name, "") for name in TEMPLATES[template][kind])]


def import_file_build(documents: list[Document]) -> str:
    lines = [
        FIELD_SEPARATOR.join(import_field(f) for f in line) for document in documents for line in document
    ]
    return RECORD_SEPARATOR.join([*lines, END])


@dataclass(frozen=True)
class ImportOutcome:
    number: str = ""
    error: str = ""


def import_log_parse(text: str) -> dict[int, ImportOutcome]:
    """`O_MESSA` -> outcome per document (1-based, in file order). Documents the log does not name
    have an unknown outcome; the caller must not assume either way."""
    outcomes: dict[int, ImportOutcome] = {}
    for raw in text.splitlines():
        match = _LOG_LINE.match(raw.strip())
        if match:
            outcomes[int(match.group(1))] = ImportOutcome(
                number=match.group("num") or "", error=(match.group("error") or "").strip()
            )
    return outcomes
