"""Reading a package: a folder, a .zip or a JSON document, within the limits, into raw tables."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from flask_babel import lazy_gettext as _l

from .mapping import DESCRIPTOR_NAME, hsds_descriptor, tables
from .report import (
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_MEMBERS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    Problem,
    Report,
    format_size,
)

# ------------------------------------------------------------------ reading


class Refused(Exception):
    """The files cannot be read at all: one problem says why."""

    def __init__(self, file: str, message, row: int | None = None, field_name: str | None = None):
        super().__init__(str(message))
        self.problem = Problem(file, row, field_name, message)


@dataclass
class RawTable:
    table: str
    file: str  # as reports name it
    header: list[str] | None  # a CSV file's header; None for JSON
    header_row: int | None
    rows: list[tuple[int, dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)  # rows that could not be read


@dataclass
class Package:
    source: str
    tables: dict[str, RawTable] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # files that could not be read
    # Filled by validate(): the rows as Python values, by table.
    valid: dict[str, list[tuple[int, dict[str, Any]]]] | None = None
    derived: dict[str, dict[Any, Any]] = field(default_factory=dict)


class _Files:
    """Where the package's files are: a folder or a .zip."""

    label = ""

    def read(self, name: str) -> bytes:
        raise NotImplementedError


def _safe_relative(name: str) -> PurePosixPath | None:
    """A relative path inside the package, or None (absolute, .., a drive,
    a URL, backslashes)."""
    if not name or "\\" in name or "\x00" in name or ":" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts):
        return None
    return path


class _Folder(_Files):
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.label = root.name

    def has(self, name: str) -> bool:
        return (self.root / name).is_file()

    def read(self, name: str) -> bytes:
        relative = _safe_relative(name)
        if relative is None:
            raise Refused(name, _l("Unsafe file path: it must name a file inside the package."))
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise Refused(name, _l("Unsafe file path: it must name a file inside the package."))
        try:
            info = path.stat()
        except FileNotFoundError:
            raise Refused(name, _l("The file is missing.")) from None
        if not stat.S_ISREG(info.st_mode):
            raise Refused(name, _l("Not a file."))
        if info.st_size > MAX_FILE_BYTES:
            raise Refused(name, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise Refused(name, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
        return data


class _Zip(_Files):
    """A .zip checked from its directory before a byte is unpacked: number of
    entries, declared sizes, paths that would leave the folder, links,
    encryption. Reading then stops at the declared size (zipfile checks the
    CRC), so a lying header cannot unpack more."""

    def __init__(self, archive: zipfile.ZipFile, label: str):
        self.archive = archive
        self.label = label
        infos = archive.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise Refused(label, _l("The archive holds more than %(limit)d entries.", limit=MAX_ARCHIVE_MEMBERS))
        total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            relative = _safe_relative(info.filename)
            if relative is None:
                raise Refused(label, _l("Unsafe path in the archive: %(path)s. Nothing was unpacked.",
                                        path=info.filename))
            if stat.S_ISLNK(info.external_attr >> 16):
                raise Refused(label, _l("The archive holds a link (%(path)s). Nothing was unpacked.",
                                        path=info.filename))
            if info.flag_bits & 0x1:
                raise Refused(label, _l("The archive is encrypted."))
            if info.file_size > MAX_FILE_BYTES:
                raise Refused(label, _l("%(path)s would unpack to more than %(limit)s. Nothing was unpacked.",
                                        path=info.filename, limit=format_size(MAX_FILE_BYTES)))
            total += info.file_size
            if total > MAX_ARCHIVE_BYTES:
                raise Refused(label, _l("The archive would unpack to more than %(limit)s. Nothing was unpacked.",
                                        limit=format_size(MAX_ARCHIVE_BYTES)))
            if not info.is_dir():
                self.members[str(relative)] = info
        self.prefix = ""

    def find_root(self) -> str | None:
        """The datapackage.json at the top or in one folder; the JSON file
        when there is none; None when neither."""
        descriptors = [n for n in self.members if PurePosixPath(n).name == DESCRIPTOR_NAME
                       and len(PurePosixPath(n).parts) <= 2]
        if len(descriptors) > 1:
            raise Refused(self.label, _l("The archive holds more than one datapackage.json."))
        if descriptors:
            parent = str(PurePosixPath(descriptors[0]).parent)
            self.prefix = "" if parent == "." else parent + "/"
            return DESCRIPTOR_NAME
        json_files = [n for n in self.members if n.lower().endswith(".json") and len(PurePosixPath(n).parts) <= 2]
        if len(json_files) == 1:
            return json_files[0]
        raise Refused(self.label, _l("The archive holds no datapackage.json."))

    def has(self, name: str) -> bool:
        return self.prefix + name in self.members

    def read(self, name: str) -> bytes:
        relative = _safe_relative(name)
        if relative is None:
            raise Refused(name, _l("Unsafe file path: it must name a file inside the package."))
        info = self.members.get(self.prefix + str(relative))
        if info is None:
            raise Refused(name, _l("The file is missing."))
        try:
            with self.archive.open(info) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError):
            raise Refused(name, _l("The archive is damaged: this file cannot be unpacked.")) from None
        if len(data) > MAX_FILE_BYTES:
            raise Refused(name, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
        return data


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise Refused(file, _l("Not UTF-8 text (line %(line)d). Save the file with the UTF-8 encoding.",
                               line=line), row=line) from None


def _parse_json(data: bytes, file: str) -> Any:
    text = _decode(data, file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Refused(file, _l("Not valid JSON (line %(line)d, column %(column)d).",
                               line=error.lineno, column=error.colno), row=error.lineno) from None
    except RecursionError:
        raise Refused(file, _l("Not valid JSON: nested too deeply.")) from None


def _parse_csv(data: bytes, file: str, table: str) -> RawTable:
    text = _decode(data, file)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row_number = 0
    header: list[str] | None = None
    raw = RawTable(table, file, None, 1, [])
    try:
        for cells in reader:
            row_number += 1
            if header is None:
                header = raw.header = [cell.strip() for cell in cells]
                continue
            if not cells or cells == [""]:
                continue  # a blank line
            if len(raw.rows) >= MAX_ROWS:
                raise Refused(file, _l("The file has more than %(limit)d rows.", limit=MAX_ROWS))
            if len(cells) != len(header):
                raw.problems.append(Problem(file, row_number, None, _l(
                    "The row has %(found)d cells; the header has %(expected)d.",
                    found=len(cells), expected=len(header))))
                continue
            raw.rows.append((row_number, dict(zip(header, cells))))
    except csv.Error as error:
        raise Refused(file, _l("Not valid CSV: %(error)s.", error=str(error)), row=row_number + 1) from None
    if header is None or header == [""]:
        raise Refused(file, _l("The file is empty: it needs a header row with the column names."), row=1)
    return raw


def _read_json_package(data: bytes, file: str, package: Package) -> None:
    document = _parse_json(data, file)
    if not isinstance(document, dict):
        raise Refused(file, _l("The JSON file must hold an object: {\"table name\": [rows]}."))
    known = tables()
    hsds_names = {r["name"] for r in hsds_descriptor()["resources"]}
    for name, rows in document.items():
        label = f"{file} [{name}]"
        if name not in known:
            _ignored_table(package, label, name in hsds_names)
            continue
        if not isinstance(rows, list):
            raise Refused(label, _l("A list of rows expected."))
        if len(rows) > MAX_ROWS:
            raise Refused(label, _l("The file has more than %(limit)d rows.", limit=MAX_ROWS))
        table_rows = []
        for index, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise Refused(label, _l("Each row must be an object."), row=index)
            table_rows.append((index, row))
        package.tables[name] = RawTable(name, label, None, None, table_rows)


def _ignored_table(package: Package, label: str, is_hsds: bool) -> None:
    if is_hsds:
        message = _l("Not imported: this directory does not keep this HSDS table.")
    else:
        message = _l("Not imported: not a table this directory knows.")
    package.warnings.append(Problem(label, None, None, message))


def _read_tabular_package(files: _Files, package: Package) -> None:
    descriptor = _parse_json(files.read(DESCRIPTOR_NAME), DESCRIPTOR_NAME)
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list):
        raise Refused(DESCRIPTOR_NAME, _l("datapackage.json must be an object with a list of resources."))
    known = tables()
    by_path = {table.path: table.name for table in known.values()}
    hsds_names = {r["name"] for r in hsds_descriptor()["resources"]}
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
            raise Refused(DESCRIPTOR_NAME, _l("Each resource needs a name and the path of one file."))
        name, path = resource["name"], resource.get("path")
        if not isinstance(path, str):
            raise Refused(DESCRIPTOR_NAME, _l("Each resource needs a name and the path of one file."), field_name=name)
        if name not in known and by_path.get(path) is not None:
            name = by_path[path]
        if name not in known:
            _ignored_table(package, path, name in hsds_names)
            continue
        if name in package.tables:
            raise Refused(DESCRIPTOR_NAME, _l("The resource is listed twice."), field_name=name)
        if _safe_relative(path) is None:
            raise Refused(DESCRIPTOR_NAME, _l("Unsafe file path: it must name a file inside the package."),
                          field_name=name)
        try:
            package.tables[name] = _parse_csv(files.read(path), path, name)
        except Refused as refused:  # one file: the others are still checked
            package.problems.append(refused.problem)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def read_package(path: str | Path, name: str | None = None) -> Package | Report:
    """The rows of a data package (folder, .zip, datapackage.json or JSON
    file), or a report saying why it cannot be read. `name`: what reports
    call the file (an upload's own name), its file name by default."""
    path = Path(path)
    label = name or path.name
    package = Package(source=label)
    try:
        if path.is_dir():
            folder = _Folder(path)
            if not folder.has(DESCRIPTOR_NAME):
                raise Refused(label, _l("The folder has no datapackage.json."))
            _read_tabular_package(folder, package)
        elif not path.is_file():
            raise Refused(label, _l("No such file or folder."))
        elif path.name == DESCRIPTOR_NAME:
            _read_tabular_package(_Folder(path.parent), package)
        elif _is_zip(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    files = _Zip(archive, label)
                    root = files.find_root()
                    if root == DESCRIPTOR_NAME:
                        _read_tabular_package(files, package)
                    else:
                        _read_json_package(files.read(root), root, package)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
                raise Refused(label, _l("Not a valid ZIP archive.")) from None
        else:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise Refused(label, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise Refused(label, _l("The file is larger than %(limit)s.", limit=format_size(MAX_FILE_BYTES)))
            _read_json_package(data, label, package)
    except Refused as refused:
        report = Report(warnings=list(package.warnings))
        problem = refused.problem
        report.problem(problem.file, problem.row, problem.field, problem.message)
        return report
    return package


