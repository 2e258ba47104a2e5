"""Sage Pro over a CSV drop folder (contract in `contract.py`): we drop import files into `in/`, Sage
Pro's scheduled import answers in `out/` and refreshes `export/`. Only the filesystem is shared."""

import csv
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integrations.drop_folder import DropFolderRefused, drop_path_resolve
from integrations.sage.base import ErpError, ErpPermanentError, ErpTransientError
from integrations.sage.sagepro.contract import (
    RESOURCES,
    ResourceSpec,
    error_for,
    is_open_invoice,
    stamp_parse,
)
from portal.pci import redact

FOLDERS = ("in", "out", "export")
POLL_SECONDS = 0.2
# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet, and import files
# are opened in one when an import goes wrong.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def csv_cell_escape(value: Any) -> Any:
    """A text cell starting like a formula gets a leading single quote, unless it is exactly a decimal
    number. Checking the value rather than a list of free-text columns fails closed: FieldDefault rows
    may add any column, and whatever text lands in one is escaped; while a plain number such as a
    reversal's PAYAMT "-45.00" is never a formula and must reach Sage Pro's import as a number."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class CsvDropFolder:
    def __init__(self, *, folder: str, wait_seconds: float):
        self.folder = folder  # as set on the connection; every use goes through _path
        self.wait_seconds = wait_seconds
        self.transcript: list[dict[str, Any]] = []

    def _path(self, *parts: str) -> Path:
        """A path in the drop folder, resolved and checked under SAGEPRO_DROP_ROOT at each use."""
        try:
            return drop_path_resolve(folder=self.folder, parts=parts)
        except DropFolderRefused as exc:
            raise ErpPermanentError(str(exc), code="DROP_FOLDER") from None

    # --- the file operations, each recorded like an HTTP call -----------------------------------------

    def _record(
        self,
        method: str,
        path: Path,
        started: float,
        *,
        request: Any = None,
        response: Any = None,
        error: str = "",
    ) -> None:
        self.transcript.append(
            {
                "method": method,
                "url": path.as_uri(),
                "status": None,
                "duration_ms": int((time.monotonic() - started) * 1000),
                "request": redact(request) if request is not None else None,
                "response": redact(response) if response is not None else None,
                "error": error,
            }
        )

    def _read(self, path: Path, *, log_rows: bool = False) -> list[dict[str, str]]:
        started = time.monotonic()
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except FileNotFoundError:
            # Exports appear after Sage Pro's first scheduled run; until then ask again later.
            self._record("READ", path, started, error="missing")
            raise ErpTransientError(f"{path} does not exist yet", code="EXPORT_MISSING") from None
        self._record("READ", path, started, response=rows if log_rows else {"rows": len(rows)})
        return rows

    def _write(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """Temp file + rename: the importer never picks up a half-written file. Cells are escaped
        against formula injection (csv_cell_escape); the transcript shows them as written."""
        started = time.monotonic()
        rows = [{column: csv_cell_escape(value) for column, value in row.items()} for row in rows]
        columns = list(dict.fromkeys(column for row in rows for column in row))
        temp = path.with_name(f".{path.name}.tmp")
        try:
            with temp.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
                handle.flush()
                os.fsync(handle.fileno())
            temp.replace(path)
        except OSError as exc:
            self._record("WRITE", path, started, request=rows, error=str(exc))
            raise ErpTransientError(f"cannot write {path}: {exc}", code="DROP_FOLDER") from exc
        self._record("WRITE", path, started, request=rows)

    def _wait(self, path: Path) -> list[dict[str, str]] | None:
        started = time.monotonic()
        deadline = started + self.wait_seconds
        while not path.exists():
            if time.monotonic() >= deadline:
                self._record("WAIT", path, started, error=f"no result within {self.wait_seconds}s")
                return None
            time.sleep(POLL_SECONDS)
        return self._read(path, log_rows=True)

    # --- the transport interface -----------------------------------------------------------------------

    def ping(self) -> str:
        missing = [name for name in FOLDERS if not self._path(name).is_dir()]
        if missing:
            raise ErpPermanentError(f"{self._path()} lacks {', '.join(missing)}/", code="DROP_FOLDER")
        if not os.access(self._path("in"), os.W_OK):
            raise ErpPermanentError(f"{self._path('in')} is not writable", code="DROP_FOLDER")
        customers = self._path("export", "customers.csv")
        if not customers.exists():
            raise ErpTransientError(
                f"{customers} does not exist: Sage Pro has not exported yet", code="EXPORT_MISSING"
            )
        exported = customers.stat().st_mtime
        moment = datetime.fromtimestamp(exported, tz=UTC).isoformat(timespec="seconds")
        return f"Sage Pro drop folder {self._path()}, exports of {moment}"

    def _export(self, spec: ResourceSpec) -> list[dict[str, Any]]:
        """The export rows of one resource, children folded back under their parent."""
        rows = self._read(self._path("export", f"{spec.name}.csv"))
        if not spec.children:
            return rows
        records: dict[str, dict[str, Any]] = {}
        for row in rows:
            child = {column: row.pop(column, "") for column in spec.child_columns}
            parent = records.setdefault(row[spec.key], {**row, spec.children: []})
            if any(child.values()):
                parent[spec.children].append(child)
        return list(records.values())

    def entries(self, resource: str, **filters: str) -> Iterator[dict[str, Any]]:
        spec = RESOURCES[resource]
        for record in self._export(spec):
            if all(_matches(spec, record, name, value) for name, value in filters.items()):
                yield record

    def entry(self, resource: str, key: str) -> dict[str, Any] | None:
        spec = RESOURCES[resource]
        return next((r for r in self._export(spec) if r[spec.key].upper() == key.upper()), None)

    def find(self, resource: str, reference: str) -> list[dict[str, Any]]:
        spec = RESOURCES[resource]
        # Pending first: the importer refreshes the exports before it archives a file, so once a file
        # has left in/ its documents are already exported.
        pending = self._pending(spec, reference)
        if pending:
            raise ErpTransientError(
                f"{reference} is in {pending}, not yet imported by Sage Pro",
                code="IMPORT_PENDING",
                maybe_applied=True,
            )
        return list(self.entries(resource, reference=reference))

    def _pending(self, spec: ResourceSpec, reference: str) -> str:
        for path in sorted(self._path("in").glob(f"{spec.import_prefix}_*.csv")):
            try:
                rows = self._read(path)
            except ErpTransientError:
                continue  # imported (and archived) while we looked
            if any(row.get(spec.reference) == reference for row in rows):
                return path.name
        return ""

    def create(self, resource: str, records: list[dict[str, Any]]) -> list[dict[str, Any] | ErpError]:
        """Drop all records in one file, wait for Sage Pro's result, answer per record."""
        spec = RESOURCES[resource]
        rows, first_rows = _flatten(spec, records)
        stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{spec.import_prefix}_{stamp}_{uuid.uuid4().hex[:8]}"
        self._write(self._path("in", f"{name}.csv"), rows)
        results = self._wait(self._path("out", f"{name}.result.csv"))
        if results is None:
            pending = error_for("IMPORT_PENDING", f"{name}.csv awaits Sage Pro's import", maybe_applied=True)
            return [pending] * len(records)
        by_row = {int(result["ROW"]): result for result in results}
        if 0 in by_row:  # the whole file was refused
            return [_result_error(by_row[0])] * len(records)
        exported = {}
        if any(result["STATUS"] == "OK" for result in results):
            exported = {record[spec.key]: record for record in self._export(spec)}
        answers: list[dict[str, Any] | ErpError] = []
        for record, row in zip(records, first_rows, strict=True):
            result = by_row.get(row)
            if result is None:
                answers.append(
                    ErpTransientError(
                        f"{name}.csv row {row} has no result", code="NO_RESULT", maybe_applied=True
                    )
                )
            elif result["STATUS"] != "OK":
                answers.append(_result_error(result))
            else:
                answers.append(exported.get(result["DOCNO"]) or {**record, spec.key: result["DOCNO"]})
        return answers

    def update(self, resource: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
        """The customer import updates a known CUSTNO: an update is a create that names the key."""
        answer = self.create(resource, [{**record, RESOURCES[resource].key: key}])[0]
        if isinstance(answer, ErpError):
            raise answer
        return answer

    def transcript_take(self) -> list[dict[str, Any]]:
        calls, self.transcript = self.transcript, []
        return calls


def _flatten(spec: ResourceSpec, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """One row per child with the parent's columns repeated; also the first row number of each record."""
    rows: list[dict[str, Any]] = []
    first_rows = []
    for record in records:
        first_rows.append(len(rows) + 1)
        header = {k: v for k, v in record.items() if k != spec.children}
        children = (record.get(spec.children) or [{}]) if spec.children else [{}]
        rows.extend({**header, **child} for child in children)
    return rows, first_rows


def _result_error(result: dict[str, str]) -> ErpError:
    return error_for(result.get("CODE") or "IMPORT_ERROR", result.get("MESSAGE") or "refused", raw=result)


def _matches(spec: ResourceSpec, record: dict[str, Any], name: str, value: str) -> bool:
    """The gateway's list filters, applied to export rows."""
    if name == "reference":
        return record.get(spec.reference, "") == value
    if name == "email":
        return record.get("EMAIL", "").lower() == value.lower()
    if name == "company":
        return value.lower() in record.get("COMPANY", "").lower()
    if name == "open":
        return is_open_invoice(record)
    if name == "updated_since":
        updated = stamp_parse(record.get("UPDATED", ""))
        return updated is not None and updated >= stamp_parse(value)
    if name == "item":
        return record.get("ITEM", "").upper() in {sku.strip().upper() for sku in value.split(",")}
    return record.get(name.upper(), "").upper() == value.upper()
