"""Who handed in a file: the file-name conventions of the downloads that LMSs give instructors.

- **Canvas** ("Download Submissions"): `lastfirst_[LATE_]userid_submissionid_filename`, e.g.
  `smithcarol_12345_67890_a2_vanilla_gan.ipynb` (some exports leave out the submission id).
- **Moodle** ("Download all submissions"): one folder per submission,
  `Full Name_participantid_assignsubmission_file_/filename`.
- **Blackboard** ("Download assignment"):
  `Assignment name_username_attempt_YYYY-MM-DD-HH-MM-SS_filename`.
- **Plain**: `<student>.ipynb` or `<student>/<any name>.ipynb`.

A name becomes a student id through the roster (`course.py roster`: by LMS id, then by name),
or else by itself: any Unicode name is written in ASCII, lower case, with `_` between words
("José Núñez" -> `jose_nunez`), so the same person always gets the same id.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CANVAS = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z-]*(?:_[A-Za-z][A-Za-z-]*)*?)_(?:LATE_)?(?P<lms_id>\d+)"
    r"(?:_(?P<submission>\d+))?_(?P<file>.+)$"
)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<lms_id>\d+)_assignsubmission_[a-z]+_?$")
BLACKBOARD = re.compile(
    r"^(?P<assignment>.+)_(?P<user>[^_\s]+)_attempt_"
    r"(?P<when>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+))?$"
)


@dataclass(frozen=True)
class HandIn:
    """One notebook file, and whom it belongs to."""

    path: Path
    student: str  # the course's student id
    how: str  # the naming convention it was recognised by
    name: str = ""  # the name the file gives, as written
    lms_id: str = ""  # the LMS's user id, when the file name has one
    submitted_at: float | None = None  # from the file name (Blackboard), else None


@dataclass
class Roster:
    """The course's students by LMS id and by name (from the gradebook)."""

    by_lms_id: dict[str, str]
    by_name: dict[str, str]
    ids: set[str]

    @classmethod
    def empty(cls) -> Roster:
        return cls({}, {}, set())

    def find(self, name: str, lms_id: str = "") -> str | None:
        if lms_id and lms_id in self.by_lms_id:
            return self.by_lms_id[lms_id]
        key = slug(name)
        if key in self.by_name:
            return self.by_name[key]
        return key if key in self.ids else None


def slug(name: str) -> str:
    """A stable ASCII id for any name: accents dropped, lower case, `_` between words."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:64]


def identify(relative: Path, roster: Roster, assignments: list[str]) -> HandIn | str:
    """Whose notebook `relative` (a path inside the download) is, or why that cannot be told."""
    path = relative
    if len(relative.parts) > 1:
        folder = relative.parts[0]
        moodle = MOODLE.match(folder)
        if moodle:
            return _hand_in(path, moodle["name"], "moodle", roster, moodle["lms_id"])
        return _hand_in(path, folder, "folder", roster)
    stem = relative.stem
    blackboard = BLACKBOARD.match(stem)
    if blackboard:
        when = datetime.strptime(blackboard["when"], "%Y-%m-%d-%H-%M-%S").timestamp()
        return _hand_in(path, blackboard["user"], "blackboard", roster, submitted_at=when)
    canvas = CANVAS.match(stem)
    if canvas:
        return _hand_in(path, canvas["name"], "canvas", roster, canvas["lms_id"])
    key = slug(stem)
    if any(key == a or key.startswith(a + "_") for a in assignments):
        return (
            "the file name names the assignment, not a student (put it in a folder named "
            "after the student)"
        )
    return _hand_in(path, stem, "file name", roster)


def _hand_in(
    path: Path,
    name: str,
    how: str,
    roster: Roster,
    lms_id: str = "",
    submitted_at: float | None = None,
) -> HandIn | str:
    student = roster.find(name, lms_id) or slug(name)
    if not student or not STUDENT_ID.fullmatch(student):
        return f"no usable student id in {name!r}"
    return HandIn(path, student, how, name, lms_id, submitted_at)
