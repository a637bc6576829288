"""``gradebook.one_engine``: while one submission is graded, nbgrader's many openings of
its scratch gradebook share one database engine, and nothing of it outlives the block."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.instructor.gradebook import one_engine


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new gradebook, made once (nbgrader stamps each new one by running ``alembic``)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    Gradebook(f"sqlite:///{path}").close()
    return path


def copies(empty: Path, folder: Path, *names: str) -> list[str]:
    for name in names:
        shutil.copy(empty, folder / name)
    return [f"sqlite:///{folder / name}" for name in names]


def opened(url: str) -> Gradebook:
    gb = Gradebook(url)
    gb.close()
    return gb


def test_one_engine_for_every_opening_of_one_gradebook_and_only_within_the_block(
    tmp_path: Path, empty_gradebook: Path
) -> None:
    url, other = copies(empty_gradebook, tmp_path, "a.db", "b.db")
    with one_engine(url):
        first, second = opened(url), opened(url)
        assert first.engine is second.engine, "each opening made an engine of its own"
        assert opened(other).engine is not opened(other).engine, "only the named gradebook is shared"
        with Gradebook(url) as gb:  # the shared engine still works after a Gradebook closed it
            gb.add_student("s1")
    assert opened(url).engine is not first.engine, "the engine outlived its submission"
    with Gradebook(url) as gb:
        assert [s.id for s in gb.students] == ["s1"]


def test_the_block_lets_go_of_the_engine_when_grading_fails(tmp_path: Path, empty_gradebook: Path) -> None:
    (url,) = copies(empty_gradebook, tmp_path, "a.db")
    try:
        with one_engine(url):
            shared = opened(url).engine
            raise RuntimeError("a worker's error")
    except RuntimeError:
        pass
    assert opened(url).engine is not shared
