"""The data files are what the notebooks and data/README.md say they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.student.paths import data_file

TITLE_CHARS = re.compile(r"^[A-Za-z0-9 '&:,.!?-]+$")
README = Path(data_file("element_list.txt")).parent / "README.md"


def lines(name: str) -> list[str]:
    """The file's lines, decoded strictly as UTF-8."""
    return data_file(name).read_bytes().decode("utf-8", errors="strict").split("\n")[:-1]


@pytest.mark.parametrize("name", ["element_list.txt", "movie_title_list.txt"])
def test_utf8_one_name_per_line(name: str) -> None:
    raw = data_file(name).read_bytes()
    assert raw.endswith(b"\n") and not raw.endswith(b"\n\n"), "one name per line, a newline after the last"
    for i, line in enumerate(lines(name), 1):
        assert line and line == line.strip(), f"{name}:{i}: empty line or surrounding spaces: {line!r}"


def test_elements() -> None:
    names = lines("element_list.txt")
    assert len(names) == 118
    assert len({n.lower() for n in names}) == 118
    assert (names[0], names[5], names[78], names[-1]) == ("Hydrogen", "Carbon", "Gold", "Oganesson")
    assert all(n.isalpha() and n[0].isupper() and n[1:].islower() for n in names)


def test_movie_titles() -> None:
    titles = lines("movie_title_list.txt")
    assert len(titles) >= 1500
    lowered = [t.lower() for t in titles]
    duplicates = sorted({t for t in lowered if lowered.count(t) > 1})
    assert not duplicates, f"titles that repeat once lowercased: {duplicates[:10]}"
    bad = [t for t in titles if not TITLE_CHARS.match(t) or len(t) > 40]
    assert not bad, f"titles outside the character set or over 40 characters: {bad[:10]}"


@pytest.mark.parametrize("name", ["element_list.txt", "movie_title_list.txt"])
def test_readme_states_the_line_counts(name: str) -> None:
    row = re.search(rf"^\| `{re.escape(name)}` \| (\d+) \|", README.read_text(encoding="utf-8"), re.M)
    assert row, f"data/README.md has no table row for {name}"
    assert int(row.group(1)) == len(lines(name))


def test_vocabularies_match_the_readme() -> None:
    """The lowercased character counts data/README.md states (the notebooks' vocabulary sizes)."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    stated = [int(n) for n in re.findall(r"Lowercased, (?:the names|they) use (\d+)", text)]
    elements = set("".join(lines("element_list.txt")).lower())
    titles = set("".join(lines("movie_title_list.txt")).lower())
    assert stated == [len(elements), len(titles)]
    assert not elements & set("jq")
