"""Import and export: crmtui JSON, CSV, vCard and iCalendar.

================  ==============  =======================================  ========================
format            module          holds                                    import / export
================  ==============  =======================================  ========================
``json``          ``jsonfmt``     the whole database, full fidelity         both
``csv``           ``csvfmt``      contacts                                  both
``vcard``         ``vcard``       contacts (vCard 3.0 and 4.0)              both
``ics``           ``ics``         the user's activities                     export only
================  ==============  =======================================  ========================

Every import parses and validates the whole file first and then writes it in one transaction:
a file goes in completely or not at all. Problems raise :class:`FormatError`, which names the file,
the place in it and what is wrong. ``path`` may be ``"-"``: standard input or output.
"""

from __future__ import annotations

from pathlib import Path

from crmtui.store import Repository

from .common import (
    STDIO,
    ExportReport,
    FormatError,
    ImportReport,
    display_name,
    open_output,
    read_text,
)
from .csvfmt import export_csv, import_csv
from .ics import export_ics
from .jsonfmt import export_json, import_json
from .vcard import VERSIONS, export_vcard, import_vcard

FORMATS = ("json", "csv", "vcard", "ics")
EXTENSIONS = {".json": "json", ".csv": "csv", ".vcf": "vcard", ".vcard": "vcard", ".ics": "ics"}
ALIASES = {"vcf": "vcard", "ical": "ics", "icalendar": "ics"}


def detect_format(path: str | Path, explicit: str | None = None) -> str:
    """The format to use for ``path``: ``explicit`` when given, else the file's extension."""
    supported = ", ".join(FORMATS)
    if explicit:
        fmt = explicit.strip().lower()
        fmt = ALIASES.get(fmt, fmt)
        if fmt not in FORMATS:
            raise FormatError(display_name(path), "", f"unknown format {explicit!r}; the "
                              f"supported formats are {supported}")
        return fmt
    if str(path) == STDIO:
        raise FormatError(display_name(path), "", f"the format of standard input and output "
                          f"cannot be guessed; name it ({supported})")
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        known = ", ".join(EXTENSIONS)
        raise FormatError(display_name(path), "", f"cannot tell the format from the extension "
                          f"{suffix or '(none)'!s}; use one of {known} or name the format "
                          f"({supported})")
    return EXTENSIONS[suffix]


def import_file(repo: Repository, path: str | Path, *, fmt: str | None = None, viewer_id: str,
                on_existing: str = "error") -> ImportReport:
    """Import ``path`` into ``repo`` as ``viewer_id``; all of it or, on any problem, nothing.

    ``on_existing`` says what to do with a record whose id is stored already: ``"error"``
    refuses the file, ``"skip"`` leaves the record out, ``"update"`` (CSV and vCard) replaces
    the stored contact's fields.
    """
    fmt = detect_format(path, fmt)
    name = display_name(path)
    if fmt == "ics":
        raise FormatError(name, "", "importing iCalendar (.ics) files is not supported; crmtui "
                          "exports activities to .ics, and imports json, csv and vcard")
    text = read_text(path)
    if fmt == "json":
        return import_json(repo, name, text, on_existing=on_existing)
    importer = import_csv if fmt == "csv" else import_vcard
    return importer(repo, name, text, viewer_id=viewer_id, on_existing=on_existing)


def export_file(repo: Repository, path: str | Path, *, fmt: str | None = None, viewer_id: str,
                vcard_version: str = "3.0") -> ExportReport:
    """Write ``repo``'s data to ``path`` in ``fmt`` (by default from the extension).

    JSON holds the whole database; CSV and vCard every contact, with the tags ``viewer_id`` can
    see; iCalendar the activities ``viewer_id`` organizes or takes part in.
    """
    fmt = detect_format(path, fmt)
    name = display_name(path)
    if fmt == "vcard" and vcard_version not in VERSIONS:
        raise FormatError(name, "", f"vCard version {vcard_version!r} is not supported; use "
                          f"{' or '.join(VERSIONS)}")
    with open_output(path) as out:
        if fmt == "json":
            report = export_json(repo, out)
        elif fmt == "csv":
            report = export_csv(repo, viewer_id, out)
        elif fmt == "vcard":
            report = export_vcard(repo, viewer_id, vcard_version, out)
        else:
            report = export_ics(repo, name, viewer_id, out)
    return report


__all__ = ["FORMATS", "ExportReport", "FormatError", "ImportReport", "detect_format",
           "export_file", "import_file"]
