"""A folder of images laid out one subfolder per class -> the image files of each class.

The layout of torchvision's ``ImageFolder`` and Keras' ``image_dataset_from_directory``:
``DIR/<class>/.../<file>``, class names sorted so that they become labels 0..k-1. Class
folders are read recursively and symbolic links followed; a link back to a folder already
read (a loop) is skipped and reported, never followed forever. Names starting with "."
(``.DS_Store``, ``.git``) are hidden and left out, as ``ls`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nnbp.errors import DataError


@dataclass
class Folder:
    """What a class folder layout holds.

    ``root``: the top folder; ``classes``: class name -> its files (paths in a stable
    order), names sorted;
    ``skipped``: (path, reason) of what cannot be read as part of a class;
    ``ignored``: files directly in the top folder, outside every class folder.
    """

    root: str = ""
    classes: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        """How many files the class folders hold."""
        return sum(len(files) for files in self.classes.values())


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def _entries(directory: str) -> list[os.DirEntry]:
    """The visible entries of ``directory``, sorted by name; DataError if it is unreadable."""
    try:
        with os.scandir(directory) as it:
            return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as e:
        raise DataError(f"{directory}: cannot read the folder ({_reason(e)})") from None


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether ``entry`` is a folder, following links (a broken or looping link is not)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _class_files(top: str, skipped: list[tuple[str, str]]) -> list[str]:
    """Every file under the class folder ``top``, depth first, files before subfolders."""
    files: list[str] = []
    visited: set[tuple[int, int]] = set()  # (device, inode) of every folder read
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            info = os.stat(directory)
        except OSError as e:
            skipped.append((directory, f"cannot read the folder ({_reason(e)})"))
            continue
        if (info.st_dev, info.st_ino) in visited:
            skipped.append((directory, "a link to a folder already read (a symlink loop)"))
            continue
        visited.add((info.st_dev, info.st_ino))
        subfolders = []
        for entry in _entries(directory):
            (subfolders if _is_dir(entry) else files).append(entry.path)
        stack.extend(reversed(subfolders))
    return files


def scan(directory: str | os.PathLike) -> Folder:
    """The classes of ``directory`` and their files; DataError if it is no folder or unreadable.

    Emptiness is the caller's to judge (a class may lose files it cannot read).
    """
    top = os.fspath(directory)
    if not Path(top).is_dir():
        what = "not a folder" if Path(top).exists() else "no such folder"
        raise DataError(f"{top}: {what}; expected a folder with one subfolder per class")
    folder = Folder(top)
    for entry in _entries(top):
        if _is_dir(entry):
            folder.classes[entry.name] = _class_files(entry.path, folder.skipped)
        else:
            folder.ignored.append(entry.path)
    return folder
