"""What a run could not read or parse (CL000 problems) and what it says about it (notes), collected in one value
that travels with the result: a forked process returns its own, and the parent merges it."""

from __future__ import annotations

from .record import factory, record


@record
class Problem:
    """A file a rule needed but could not read or parse (reported as CL000)."""

    path: str
    message: str
    line: int = 1
    column: int = 1


@record(mutable=True)
class Diagnostics:
    problems: dict[str, Problem] = factory(dict)  # path -> the first problem found in it
    notes: list[str] = factory(list)
    file_notes: dict[str, str] = factory(dict)  # path -> the note its read gave (a hook reports its targets')

    def problem(self, path: str, message: str, line: int = 1, column: int = 1) -> None:
        self.problems.setdefault(path, Problem(path, message, line, column))

    def note(self, path: str, message: str) -> None:
        """A note about why a file was not read; said once per run, whichever check read it first."""
        note = f"{path}: {message}"
        self.notes.append(note)
        self.file_notes.setdefault(path, note)

    def mark(self) -> int:
        """Where the notes stand now (for `since`)."""
        return len(self.notes)

    def since(self, mark: int) -> list[tuple[str, str | None]]:
        """The notes said after `mark`, each with the file it is about (None: the run's)."""
        about = {note: path for path, note in self.file_notes.items()}
        return [(note, about.get(note)) for note in self.notes[mark:]]

    def again(self, notes: list[tuple[str, str | None]]) -> None:
        """Say notes kept from an earlier run again, as they were said (`since`)."""
        for note, path in notes:
            self.notes.append(note)
            if path is not None:
                self.file_notes.setdefault(path, note)

    def withdraw(self, mark: int) -> None:
        """Unsay the notes said after `mark` (`file_notes` may keep theirs: it only says which file each is about)."""
        del self.notes[mark:]

    def merge(self, other: Diagnostics) -> None:
        """Take in what another process found (the first word on a file stays)."""
        for path, problem in other.problems.items():
            self.problems.setdefault(path, problem)
        self.notes.extend(other.notes)  # the engine reports each note once
        for path, note in other.file_notes.items():
            self.file_notes.setdefault(path, note)
