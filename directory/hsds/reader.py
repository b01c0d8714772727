"""Reading a package into raw tables, within the limits: a folder or .zip of
CSV files (with a datapackage.json, or named as HSDS names its files), or a
JSON document (directory.json, a tabular.json or one of the API's shapes:
see shapes.py). Only which file is which table and which columns are kept
is decided here; every value is checked later, by validator.py."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from flask_babel import lazy_gettext as _l

from .mapping import DESCRIPTOR_NAME, tables
from .report import (
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_MEMBERS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    Limits,
    Problem,
    Report,
    format_size,
)

# RawTable, Package and Refused are defined with the shapes they are read
# from, and are imported from here too (validator, importer, tests).
from .shapes import (  # noqa: F401
    ABSENT,
    Package,
    RawTable,
    Refused,
    ignored_table,
    is_hsds,
    known_columns,
    left_out_column,
    read_document,
    table_names,
    too_many_rows,
)

# Cells up to this length (a UUID is 36) are held once per package, however
# often they are repeated.
SHARED_LENGTH = 40
# Errors a damaged .zip entry raises while it is unpacked.
UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def default_limits() -> Limits:
    """The limits when none are given: this module's names as they are now
    (tests change `reader.MAX_ROWS` and the like)."""
    return Limits(max_file_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS, max_archive_bytes=MAX_ARCHIVE_BYTES,
                  max_archive_members=MAX_ARCHIVE_MEMBERS)


def too_large(file: str, limits: Limits) -> Refused:
    return Refused(file, _l("The file is larger than %(limit)s.", limit=format_size(limits.max_file_bytes)))


# ------------------------------------------------------------------ files


def _safe_relative(name: str) -> PurePosixPath | None:
    """A relative path inside the package, or None (absolute, .., a drive,
    a URL, backslashes)."""
    if not name or "\\" in name or "\x00" in name or ":" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts):
        return None
    return path


def _unsafe(name: str) -> Refused:
    return Refused(name, _l("Unsafe file path: it must name a file inside the package."))


class _Capped(io.RawIOBase):
    """A stream that refuses to give more than `limit` bytes: a file that
    grows while read, or a .zip entry whose header lies."""

    def __init__(self, stream: IO[bytes], limit: int, refusal: Refused):
        self.stream, self.limit, self.refusal, self.count = stream, limit, refusal, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.stream.readinto(buffer)
        self.count += count
        if self.count > self.limit:
            raise self.refusal
        return count

    def close(self) -> None:
        self.stream.close()
        super().close()


class _Files:
    """Where the package's files are: a folder or a .zip."""

    label = ""
    unreadable = _l("The file cannot be read.")

    def open(self, name: str, limits: Limits) -> IO[bytes]:
        raise NotImplementedError

    def read(self, name: str, limits: Limits) -> bytes:
        try:
            with self.open(name, limits) as stream:
                return stream.read()
        except UNPACK_ERRORS + (OSError,):
            raise Refused(name, self.unreadable) from None

    def csv_files(self) -> list[str]:
        """The CSV files a package without datapackage.json may hold."""
        raise NotImplementedError

    def json_files(self) -> list[str]:
        raise NotImplementedError


class _Folder(_Files):
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.label = root.name

    def has(self, name: str) -> bool:
        return (self.root / name).is_file()

    def open(self, name: str, limits: Limits) -> IO[bytes]:
        relative = _safe_relative(name)
        if relative is None:
            raise _unsafe(name)
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise _unsafe(name)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise Refused(name, _l("The file is missing.")) from None
        if not stat.S_ISREG(info.st_mode):
            raise Refused(name, _l("Not a file."))
        if info.st_size > limits.max_file_bytes:
            raise too_large(name, limits)
        return io.BufferedReader(_Capped(path.open("rb", buffering=0), limits.max_file_bytes,
                                         too_large(name, limits)))

    def _top(self, suffix: str) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.name.lower().endswith(suffix) and p.is_file())

    def csv_files(self) -> list[str]:
        return self._top(".csv")

    def json_files(self) -> list[str]:
        return self._top(".json")


class _Zip(_Files):
    """A .zip checked from its directory before a byte is unpacked: number of
    entries, declared sizes, paths that would leave the folder, links,
    encryption. Reading then stops at the declared size (zipfile checks the
    CRC), so a lying header cannot unpack more."""

    unreadable = _l("The archive is damaged: this file cannot be unpacked.")

    def __init__(self, archive: zipfile.ZipFile, label: str, limits: Limits):
        self.archive = archive
        self.label = label
        infos = archive.infolist()
        if len(infos) > limits.max_archive_members:
            raise Refused(label, _l("The archive holds more than %(limit)d entries.",
                                    limit=limits.max_archive_members))
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
            if info.file_size > limits.max_file_bytes:
                raise Refused(label, _l("%(path)s would unpack to more than %(limit)s. Nothing was unpacked.",
                                        path=info.filename, limit=format_size(limits.max_file_bytes)))
            total += info.file_size
            if total > limits.max_archive_bytes:
                raise Refused(label, _l("The archive would unpack to more than %(limit)s. Nothing was unpacked.",
                                        limit=format_size(limits.max_archive_bytes)))
            if not info.is_dir():
                self.members[str(relative)] = info
        self.prefix = ""

    def _shallow(self, suffix: str) -> list[str]:
        return [n for n in self.members if n.lower().endswith(suffix) and len(PurePosixPath(n).parts) <= 2]

    def find_descriptor(self) -> bool:
        """Whether a datapackage.json is at the top or in one folder (then
        the files are read from there)."""
        descriptors = [n for n in self._shallow(".json") if PurePosixPath(n).name == DESCRIPTOR_NAME]
        if len(descriptors) > 1:
            raise Refused(self.label, _l("The archive holds more than one datapackage.json."))
        if descriptors:
            parent = str(PurePosixPath(descriptors[0]).parent)
            self.prefix = "" if parent == "." else parent + "/"
        return bool(descriptors)

    def csv_files(self) -> list[str]:
        """The CSV files of the folder (the top, or one folder) holding most
        files named as HSDS tables; all the archive's CSV files when none is."""
        by_folder: dict[str, list[str]] = {}
        for name in self._shallow(".csv"):
            path = PurePosixPath(name)
            by_folder.setdefault("" if str(path.parent) == "." else f"{path.parent}/", []).append(path.name)
        names = table_names()
        if not by_folder:
            return []
        self.prefix = max(sorted(by_folder), key=lambda folder: (
            sum(n.lower() in names for n in by_folder[folder]), -folder.count("/")))
        return sorted(by_folder[self.prefix])

    def json_files(self) -> list[str]:
        return sorted(self._shallow(".json"))

    def has(self, name: str) -> bool:
        return self.prefix + name in self.members

    def open(self, name: str, limits: Limits) -> IO[bytes]:
        relative = _safe_relative(name)
        if relative is None:
            raise _unsafe(name)
        info = self.members.get(self.prefix + str(relative))
        if info is None:
            raise Refused(name, _l("The file is missing."))
        try:
            stream = self.archive.open(info)
        except UNPACK_ERRORS + (OSError,):
            raise Refused(name, self.unreadable) from None
        return io.BufferedReader(_Capped(stream, limits.max_file_bytes, too_large(name, limits)))


# ------------------------------------------------------------------ CSV and JSON


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


def _records(files: _Files, file: str, limits: Limits) -> Iterator[list[str]]:
    """The CSV records of a file, streamed (never the whole text in memory);
    every way it cannot be read is a Refused."""
    records = line = 0
    try:
        with io.TextIOWrapper(files.open(file, limits), encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text, strict=True)
            for cells in reader:
                records, line = records + 1, reader.line_num
                yield cells
    except UnicodeDecodeError:
        _decode(files.read(file, limits), file)  # says on which line
        raise Refused(file, _l("Not UTF-8 text (line %(line)d). Save the file with the UTF-8 encoding.",
                               line=line + 1), row=line + 1) from None
    except csv.Error as error:
        raise Refused(file, _l("Not valid CSV: %(error)s.", error=str(error)), row=records + 1) from None
    except UNPACK_ERRORS + (OSError,):
        raise Refused(file, files.unreadable) from None


def read_csv(files: _Files, file: str, table: str, package: Package, limits: Limits,
             shared: dict[str, str] | None = None) -> RawTable:
    """One CSV file as a raw table. Header cells are matched without
    whitespace, BOM and case; columns neither HSDS nor the directory has are
    left out with a warning; a missing column is simply absent. `shared`:
    short cells already read (ids, codes, times), reused rather than held
    again: a service's id is in five files or more."""
    known = known_columns(table)
    shared = {} if shared is None else shared
    raw: RawTable | None = None
    row_number = 0
    keep: list[int] = []
    width = 0
    for cells in _records(files, file, limits):
        row_number += 1
        if raw is None:
            if len(cells) == 1 and ";" in cells[0]:  # a spreadsheet saved with the Baltic list separator
                raise Refused(file, _l("Columns must be separated by commas; this file uses semicolons."), row=1)
            names = [cell.replace("\ufeff", "").strip().lower() for cell in cells]
            if not any(names):
                break
            columns: list[str] = []
            for index, name in enumerate(names):
                if not name:
                    continue  # an unnamed column: a spreadsheet's trailing comma
                if name in columns:
                    raise Refused(file, _l("The column appears twice."), row=1, field_name=name)
                if name in known:
                    keep.append(index)
                    columns.append(name)
                elif name not in names[:index]:
                    package.warnings.append(Problem(file, None, name, left_out_column(table)))
            raw = RawTable(table, file, columns, 1, tuple(columns))
            width = len(cells)
            continue
        if not any(cells):
            continue  # a blank line, or a row of empty cells
        if len(cells) != width and not (len(cells) > width and not any(cells[width:])):
            raw.problems.append(Problem(file, row_number, None, _l(
                "The row has %(found)d cells; the header has %(expected)d.", found=len(cells), expected=width)))
            continue
        if len(raw.cells) >= limits.max_rows:
            raise too_many_rows(file, limits)
        raw.append(row_number, tuple([shared.setdefault(cell, cell) if 0 < len(cell) <= SHARED_LENGTH else cell
                                      for cell in map(cells.__getitem__, keep)]))
    if raw is None:
        raise Refused(file, _l("The file is empty: it needs a header row with the column names."), row=1)
    return raw


def _count_rows(files: _Files, file: str, limits: Limits) -> int | None:
    """The rows of a file that is left out, or None when it cannot be read."""
    try:
        return max(0, sum(1 for cells in _records(files, file, limits) if any(cells)) - 1)
    except Refused:
        return None


# ------------------------------------------------------------------ packages


class _Reading:
    def __init__(self, package: Package, limits: Limits):
        self.package, self.limits = package, limits
        self.recognised = False  # a table of HSDS or of the directory was met (also one left out)
        self.shared: dict[str, str] = {}

    def table(self, files: _Files, file: str, name: str) -> None:
        """Read one file of a known table; a file that cannot be read is a
        problem, and the others are still read."""
        self.recognised = True
        if name not in tables():
            ignored_table(self.package, file, is_hsds(name), _count_rows(files, file, self.limits))
            return
        if name in self.package.tables:
            raise Refused(file, _l("The resource is listed twice."), field_name=name)
        try:
            self.package.tables[name] = read_csv(files, file, name, self.package, self.limits, self.shared)
        except Refused as refused:
            self.package.problems.append(refused.problem)


def _read_described(files: _Files, reading: _Reading) -> None:
    """The files datapackage.json lists."""
    reading.package.shape = "datapackage"
    descriptor = _parse_json(files.read(DESCRIPTOR_NAME, reading.limits), DESCRIPTOR_NAME)
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list):
        raise Refused(DESCRIPTOR_NAME, _l("datapackage.json must be an object with a list of resources."))
    names = table_names()
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
            raise Refused(DESCRIPTOR_NAME, _l("Each resource needs a name and the path of one file."))
        name, path = resource["name"], resource.get("path")
        if not isinstance(path, str):
            raise Refused(DESCRIPTOR_NAME, _l("Each resource needs a name and the path of one file."),
                          field_name=name)
        if _safe_relative(path) is None:
            raise Refused(DESCRIPTOR_NAME, _l("Unsafe file path: it must name a file inside the package."),
                          field_name=name)
        table = names.get(name.lower()) or names.get(PurePosixPath(path).name.lower())
        if table is None:
            count = _count_rows(files, path, reading.limits) if files.has(path) else None
            ignored_table(reading.package, path, False, count)
            continue
        if table not in tables() and not files.has(path):
            reading.recognised = True
            ignored_table(reading.package, path, True)
            continue
        reading.table(files, path, table)
    if not reading.recognised:
        raise Refused(DESCRIPTOR_NAME, _l(
            "Nothing in this package is an HSDS table: datapackage.json lists none this directory knows."))


def _read_csv_files(files: _Files, reading: _Reading) -> bool:
    """CSV files without a datapackage.json, recognised by the names HSDS
    gives them (organizations.csv, …). Whether any was."""
    names = table_names()
    found = [(name, names.get(name.lower())) for name in files.csv_files()]
    if not any(table for _name, table in found):
        return False
    reading.package.shape = "csv"
    for name, table in found:
        if table is None:
            ignored_table(reading.package, name, False, _count_rows(files, name, reading.limits))
        else:
            reading.table(files, name, table)
    return True


def _read_json(data: bytes, file: str, reading: _Reading) -> None:
    read_document(_parse_json(data, file), file, reading.package, reading.limits)


def _read_folder(folder: _Folder, label: str, reading: _Reading) -> None:
    if folder.has(DESCRIPTOR_NAME):
        _read_described(folder, reading)
    elif not _read_csv_files(folder, reading):
        json_files = folder.json_files()
        if len(json_files) != 1:
            raise Refused(label, _l("The folder has no datapackage.json and no file named as an HSDS table, "
                                    "such as organizations.csv."))
        _read_json(folder.read(json_files[0], reading.limits), json_files[0], reading)


def _read_zip(path: Path, label: str, reading: _Reading) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            files = _Zip(archive, label, reading.limits)
            if files.find_descriptor():
                _read_described(files, reading)
            elif not _read_csv_files(files, reading):
                json_files = files.json_files()
                if len(json_files) != 1:
                    raise Refused(label, _l("The archive holds no datapackage.json, no file named as an HSDS "
                                            "table (such as organizations.csv) and not one JSON file."))
                files.prefix = ""
                _read_json(files.read(json_files[0], reading.limits), json_files[0], reading)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise Refused(label, _l("Not a valid ZIP archive.")) from None


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def read_package(path: str | Path, name: str | None = None, limits: Limits | None = None) -> Package | Report:
    """The raw tables of a package, or a report saying why it cannot be read.

    `path`: a folder with datapackage.json, or with CSV files named as HSDS
    names them; a .zip of either; a datapackage.json; a JSON document
    (directory.json, a tabular.json, an API object, a paged list or a list
    of objects). `name`: what reports call it (an upload's own name), its
    file name by default. `limits`: default_limits() when None."""
    limits = limits or default_limits()
    path = Path(path)
    label = name or path.name
    package = Package(source=label)
    reading = _Reading(package, limits)
    try:
        if path.is_dir():
            _read_folder(_Folder(path), label, reading)
        elif not path.is_file():
            raise Refused(label, _l("No such file or folder."))
        elif path.name == DESCRIPTOR_NAME:
            _read_described(_Folder(path.parent), reading)
        elif _is_zip(path):
            _read_zip(path, label, reading)
        elif path.suffix.lower() == ".csv":
            raise Refused(label, _l("One CSV file alone is not a package: import the folder or .zip that "
                                    "holds it with the package's other files."))
        else:
            if path.stat().st_size > limits.max_file_bytes:
                raise too_large(label, limits)
            with path.open("rb") as handle:
                data = handle.read(limits.max_file_bytes + 1)
            if len(data) > limits.max_file_bytes:
                raise too_large(label, limits)
            _read_json(data, label, reading)
    except Refused as refused:
        report = Report(warnings=list(package.warnings))
        problem = refused.problem
        report.problem(problem.file, problem.row, problem.field, problem.message)
        return report
    return package
