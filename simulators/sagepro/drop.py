"""Sage Pro's scheduled import and export over a drop folder, simulated.

Layout of a drop folder (created on first run):
  in/       pending imports `<PREFIX>_<anything>.csv`, PREFIX: CUSTOMER, ARINV, ARCASH, SOORD, GLTRAN
  out/      `<stem>.result.csv` per processed import: ROW, REFERENCE, STATUS (OK|ERROR), DOCNO, CODE, MESSAGE
  archive/  processed import files
  export/   `<resource>.csv` for customers, invoices, payments, orders, journalentries, items
The import validates every document with the same services as the gateway. Per file it commits the
documents, refreshes the exports, writes the result, then archives the file, in that order, so a
reader never sees a document that is neither pending, nor exported.
"""

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulators.sagepro.fields import SproError
from simulators.sagepro.models import SproSite
from simulators.sagepro.resources import RESOURCES, Resource
from simulators.sagepro.services import DEFAULT_SITE

LAYOUT = ("in", "out", "archive", "export")
RESULT_COLUMNS = ("ROW", "REFERENCE", "STATUS", "DOCNO", "CODE", "MESSAGE")
IMPORTERS = {r.import_prefix: r for r in RESOURCES.values() if r.import_prefix}


def sandbox_sagepro_drop_process(*, folder: str | Path, site: str = DEFAULT_SITE) -> list[Path]:
    """Import every pending file of `folder/in`, oldest name first; return the result files written."""
    root = Path(folder)
    for name in LAYOUT:
        (root / name).mkdir(parents=True, exist_ok=True)
    site_obj = SproSite.objects.get(site=site.upper())
    written = []
    for path in sorted((root / "in").glob("*.csv")):
        results = _file_import(site=site_obj, path=path)
        _exports_write(site=site_obj, folder=root / "export")
        result_path = root / "out" / f"{path.stem}.result.csv"
        _csv_write(path=result_path, columns=RESULT_COLUMNS, rows=results)
        path.replace(root / "archive" / path.name)
        written.append(result_path)
    if not written:
        _exports_write(site=site_obj, folder=root / "export")
    return written


def _file_import(*, site: SproSite, path: Path) -> list[dict[str, Any]]:
    resource = IMPORTERS.get(path.name.split("_", 1)[0].upper())
    if resource is None:
        prefixes = ", ".join(IMPORTERS)
        return [
            _result(0, "", error=SproError("UNKNOWN_FILE", f"file name must start with one of {prefixes}"))
        ]
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [
                {key.strip().upper(): (value or "").strip() for key, value in row.items() if key}
                for row in csv.DictReader(handle)
            ]
    except (csv.Error, UnicodeDecodeError) as exc:
        # Refuse the file as a whole rather than leave it blocking in/ forever.
        return [_result(0, "", error=SproError("BAD_FILE", f"not a readable UTF-8 CSV file: {exc}"))]
    results = []
    for first_row, group in _documents(resource=resource, rows=rows):
        data = _document(resource=resource, rows=group)
        reference = data.get(resource.reference, "")
        try:
            entry = (resource.importer or resource.create)(site=site, data=data)
        except SproError as exc:
            results.append(_result(first_row, reference, error=exc))
        else:
            results.append(_result(first_row, reference, docno=resource.record(entry)[resource.key]))
    return results


def _documents(
    *, resource: Resource, rows: list[dict[str, str]]
) -> Iterable[tuple[int, list[dict[str, str]]]]:
    """Rows sharing the resource's group columns form one document; numbered by their first data row."""
    groups: dict[tuple[str, ...], tuple[int, list[dict[str, str]]]] = {}
    for number, row in enumerate(rows, start=1):
        key = tuple(row.get(column, "") for column in resource.group_by) or (str(number),)
        groups.setdefault(key, (number, []))[1].append(row)
    return groups.values()


def _document(*, resource: Resource, rows: list[dict[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in rows[0].items() if k not in resource.child_columns}
    if resource.children:
        children = [{c: row.get(c, "") for c in resource.child_columns} for row in rows]
        data[resource.children] = [child for child in children if any(child.values())]
    return data


def _result(row: int, reference: str, *, docno: str = "", error: SproError | None = None) -> dict[str, Any]:
    return {
        "ROW": row,
        "REFERENCE": reference,
        "STATUS": "ERROR" if error else "OK",
        "DOCNO": docno,
        "CODE": error.code if error else "",
        "MESSAGE": (f"{error.field}: " if error.field else "") + error.message if error else "",
    }


def _exports_write(*, site: SproSite, folder: Path) -> None:
    for resource in RESOURCES.values():
        rows = []
        for entry in resource.entries(site=site, params={}):
            record = resource.record(entry)
            children = record.pop(resource.children, None) if resource.children else None
            rows.extend([{**record, **child} for child in children] if children else [record])
        columns = list(dict.fromkeys(column for row in rows for column in row))
        _csv_write(path=folder / f"{resource.name}.csv", columns=columns, rows=rows)


def _csv_write(*, path: Path, columns: Iterable[str], rows: list[dict[str, Any]]) -> None:
    """Write next to the target, then rename: a reader sees the old file or the new one, never half."""
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)
