"""``gradebook.one_engine``: while one submission is graded, nbgrader's many openings of
its scratch gradebook share one database engine, and nothing of it outlives the block.
``gradebook.scratch_engine``: the scratch gradebooks a worker grades one after another
share one engine (its compiled statements), and each submission's rows stay in its own."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.instructor.gradebook import one_engine, scratch_engine


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


def students(url: str) -> list[str]:
    with Gradebook(url) as gb:
        return sorted(s.id for s in gb.students)


def test_a_workers_scratch_gradebooks_share_one_engine_and_keep_their_own_rows(
    tmp_path: Path, empty_gradebook: Path
) -> None:
    urls = copies(empty_gradebook, tmp_path, "a.db", "b.db", "c.db")
    engines = []
    for i, url in enumerate(urls):
        with scratch_engine(url):
            with Gradebook(url) as gb:
                gb.add_student(f"s{i}")
                engines.append(gb.engine)
            assert students(url) == [f"s{i}"]  # a later opening reads what the first wrote
    assert engines[0] is engines[1] is engines[2], "each submission made an engine of its own"
    with scratch_engine(urls[0]), engines[0].connect() as connection:  # thrown away after grading:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # no fsync
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"  # no journal file
    with one_engine(urls[1]), opened(urls[1]).engine.connect() as connection:  # a course's gradebook
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() != 0
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
    assert engines[0]._compiled_cache, "no statement was kept compiled"
    assert [students(url) for url in urls] == [["s0"], ["s1"], ["s2"]]  # read with engines of their own


def test_outside_its_block_a_scratch_gradebook_is_not_reached_through_the_shared_engine(
    tmp_path: Path, empty_gradebook: Path
) -> None:
    (url,) = copies(empty_gradebook, tmp_path, "a.db")
    with scratch_engine(url):
        shared = opened(url).engine
    assert opened(url).engine is not shared
    with pytest.raises(Exception, match="outside its grading"), shared.connect():
        pass


def test_two_threads_grading_at_once_write_each_into_its_own_gradebook(
    tmp_path: Path, empty_gradebook: Path
) -> None:
    """A connection is opened on the scratch gradebook of the thread that asks for it (a
    Dask worker runs one task at a time, but nothing here relies on that)."""
    urls = copies(empty_gradebook, tmp_path, "a.db", "b.db")
    both_open = threading.Barrier(2)
    errors: list[BaseException] = []

    def grade(i: int) -> None:
        try:
            with scratch_engine(urls[i]), Gradebook(urls[i]) as gb:
                both_open.wait(timeout=30)
                for k in range(20):
                    gb.add_student(f"t{i}-{k}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=grade, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert [students(url) for url in urls] == [sorted(f"t{i}-{k}" for k in range(20)) for i in range(2)]
