"""``bedside protocols ...``: check a file or folder, show a tree, print the binder, hash for approval.

The app's CLI calls ``add_protocols_arguments`` on its subparsers and ``run_protocols`` with the
parsed arguments; output goes to the given streams so tests (and the app) can capture it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TextIO

from protocols.errors import GraphvizMissing, ProtocolFileError
from protocols.hash import compute_hash
from protocols.loader import LIBRARY_DIR, LibraryLoad, load_library, load_protocol
from protocols.render import library_pdf, outline, render_picture

log = logging.getLogger(__name__)


def add_protocols_arguments(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``protocols`` command (check, show, pdf, hash) to the app's subparsers."""
    parser = subparsers.add_parser("protocols", help="check, show, print and hash written protocols")
    commands = parser.add_subparsers(dest="protocols_command", required=True)
    check = commands.add_parser("check", help="validate one protocol file, or every one in a folder")
    check.add_argument(
        "dir", type=Path, nargs="?", default=LIBRARY_DIR, help="a .yaml file, or a folder of them"
    )
    show = commands.add_parser("show", help="print a protocol as an outline and draw it")
    show.add_argument("id", help="protocol id, e.g. bp-spike")
    show.add_argument("--dir", type=Path, default=LIBRARY_DIR, help="folder of .yaml files")
    show.add_argument("--png", type=Path, help="also draw the tree to this PNG file")
    show.add_argument("--svg", type=Path, help="also draw the tree to this SVG file")
    pdf = commands.add_parser("pdf", help="write the printable binder of a folder's protocols")
    pdf.add_argument("out", type=Path, help="PDF file to write")
    pdf.add_argument("--dir", type=Path, default=LIBRARY_DIR, help="folder of .yaml files")
    hash_ = commands.add_parser("hash", help="print a file's content hash for its approved_hash field")
    hash_.add_argument("file", type=Path, help="protocol .yaml file")


def run_protocols(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the parsed ``protocols`` command; returns the exit code (0 ok, 1 problems found)."""
    out = out or sys.stdout
    err = err or sys.stderr
    command = args.protocols_command
    try:
        if command == "check":
            return _check(args.dir, out, err)
        if command == "show":
            return _show(args, out, err)
        if command == "pdf":
            return _pdf(args.dir, args.out, out, err)
        if command == "hash":
            return _hash(args.file, out, err)
    except (NotADirectoryError, GraphvizMissing, OSError) as exc:
        err.write(f"error: {exc}\n")
        return 1
    err.write(f"error: unknown protocols command {command!r}\n")
    return 2


def _check(target: Path, out: TextIO, err: TextIO) -> int:
    """Problems go to stderr (``file:line: what``), flags and the summary to stdout; 1 if any."""
    if target.is_dir():
        result = load_library(target)
    elif target.exists():
        try:
            one = load_protocol(target)
        except ProtocolFileError as exc:
            result = LibraryLoad({}, (exc,))
        else:
            result = LibraryLoad({one.id: one}, ())
    else:
        err.write(f"error: {target} does not exist (give a protocol .yaml file or a folder of them)\n")
        return 1
    for problem in result.problems:
        err.write(f"{problem}\n")
    for loaded in result.protocols.values():
        for note in loaded.flag_notes:
            out.write(f"{loaded.path}:{note.line}: FLAG {note.flag}: {note.message}\n")
    out.write(
        f"{len(result.protocols)} protocol(s) loaded, {len(result.errors)} file(s) rejected "
        f"with {len(result.problems)} problem(s)\n"
    )
    return 1 if result.errors else 0


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result = load_library(args.dir)
    if args.id not in result.protocols:
        rejected = [e for e in result.errors if e.file.stem == args.id]
        for e in rejected:
            err.write(f"{e}\n")
        err.write(f"error: no loadable protocol {args.id!r} in {args.dir}\n")
        return 1
    loaded = result.get(args.id)
    for note in loaded.flag_notes:
        out.write(f"FLAG {note.flag}: {note.message}\n")
    out.write(outline(loaded.protocol))
    if args.png:
        render_picture(loaded.protocol, args.png, "png")
        out.write(f"picture written to {args.png}\n")
    if args.svg:
        render_picture(loaded.protocol, args.svg, "svg")
        out.write(f"picture written to {args.svg}\n")
    return 0


def _pdf(directory: Path, target: Path, out: TextIO, err: TextIO) -> int:
    result = load_library(directory)
    for problem in result.problems:
        err.write(f"{problem} (left out of the binder)\n")
    library_pdf(list(result.protocols.values()), target)
    out.write(f"binder of {len(result.protocols)} protocol(s) written to {target}\n")
    return 1 if result.errors else 0


def _hash(file: Path, out: TextIO, err: TextIO) -> int:
    try:
        digest = compute_hash(file)
    except ProtocolFileError as exc:
        err.write(f"{exc}\n")
        return 1
    out.write(f"{digest}  {file}\n")
    recorded = load_protocol(file).protocol.approved_hash
    if recorded != digest:
        out.write(
            f"note: the file records approved_hash {recorded}; once this version is approved, "
            f'write approved_hash: "{digest}"\n'
        )
    return 0
