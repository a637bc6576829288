"""The instructor's formgrader, in a real browser: trusted scores shown, manual scores kept.

A throwaway course gets two ``assign_5a`` submissions: an honest student (the reference)
and a cheater whose ``rnn_cell_forward`` is wrong and whose extra cell makes the kernel's
checks pass (``tests/test_tampering.py``). ``python -m autograder grade`` grades them;
``jupyter server`` with nbgrader's formgrader extension serves the course on loopback,
and Debian's Chromium, driven by Playwright, does what an instructor does:

1. logs in with the token and opens Manual Grading: the cheater has the trusted 40 / 50,
   and on the grading page the score of ``rnn_cell_forward`` is 0 although the kernel's
   output under it still says the check passed;
2. types a score into one cell of the honest student and leaves the field (formgrader
   saves it through its REST API, as nbgrader's manual score);
3. after ``python -m autograder grade assign_5a --force`` reloads the page: the manual
   score is still there, and nbgrader's ``Gradebook`` API and ``grades.csv`` agree.

Screenshots go to ``$AUTOGRADER_SCREENSHOTS`` when it is set (``docs/screenshots/``
holds the committed ones), else to the test's temporary folder.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from test_tampering import TAMPERS, WRONG_SOURCE

from autograder.instructor import submissions
from autograder.instructor.course import db_url, submit
from autograder.instructor.verify import grade_cells

pytestmark = pytest.mark.xdist_group("formgrader_browser")
CHROMIUM = shutil.which("chromium")
# the checkout this test file belongs to: the server and the grader import the package from it
REPO = Path(__file__).resolve().parents[1]
A = "assign_5a"
TOKEN = "instructor"
HONEST, CHEATER = "honest", "cheater"
MANUAL = 7  # the instructor's correction of the honest student's rnn_forward (10 points)


@dataclass
class Formgrader:
    url: str
    course: Path
    env: dict[str, str]  # the grader's environment, for the regrade
    shots: Path  # where screenshots go


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _grade(fg: Formgrader, *args: str) -> None:
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(fg.course), *args]
    run = subprocess.run(cmd, capture_output=True, text=True, env=fg.env, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory: pytest.TempPathFactory, new_course) -> Iterator[Formgrader]:
    if not CHROMIUM:
        why = "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    start = time.perf_counter()
    tmp = tmp_path_factory.mktemp("formgrader")
    course = new_course(tmp / "course", (A,))
    submit(course, HONEST, A, submissions.completed(A))
    cheat = submissions.replace_function(submissions.completed(A), "rnn_cell_forward", WRONG_SOURCE)
    submit(course, CHEATER, A, submissions.add_cell(cheat, TAMPERS["numpy_norm"], after="code_setup"))
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    # runtime files (the cookie secret) in the test's folder, not the instructor's HOME
    env = {**os.environ, "PYTHONPATH": pythonpath, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
    env["PYTHONWARNINGS"] = "ignore"
    shots = Path(os.environ.get("AUTOGRADER_SCREENSHOTS") or tmp)
    shots.mkdir(parents=True, exist_ok=True)
    fg = Formgrader("", course, env, shots)
    _grade(fg)
    port = _free_port()
    # run from the course folder: formgrader reads the course's nbgrader_config.py from there
    cmd = ["jupyter", "server", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"]
    cmd += [f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={course}"]
    cmd.append("--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True")
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (open while the server runs)
    server = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    fg.url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{fg.url}/formgrader/api/status?token={TOKEN}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"formgrader did not start:\n{(tmp / 'server.log').read_text()[-3000:]}")
                time.sleep(0.3)
        print(f"\ncourse graded and formgrader up in {time.perf_counter() - start:.1f} s")
        yield fg
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@contextmanager
def browser_page(fg: Formgrader, path: str) -> Iterator:
    """A Chromium page logged in as the instructor (the token typed into Jupyter's login
    form, as a person does), showing ``path``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        flags = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
        ]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # not ?token= on a formgrader page: nbgrader's handlers set the login cookie for
            # that page's own path only, and the page's API calls would then be refused
            page.goto(f"{fg.url}/login?next={path}")
            page.fill("#password_input", TOKEN)
            page.click("#login_submit")
            page.wait_for_url(f"{fg.url}{path}*")
            yield page
        finally:
            browser.close()


def _row(page, student: str):
    """The student's row in formgrader's list of submissions (names hidden by default)."""
    page.wait_for_selector("#main-table td.score")
    name = page.locator("a.name-shown", has_text=re.compile(f"^{re.escape(student)}$"))
    return page.locator("#main-table tr").filter(has=name)


def _open_submission(page, student: str) -> None:
    """From the list of submissions, reveal the student's name and click it."""
    row = _row(page, student)
    row.locator(".reveal .name-hidden").click()
    row.locator("a.name-shown").click()
    _wait_for_scores(page)


def _wait_for_scores(page) -> None:
    # formgrader fills the score fields once it has fetched the grades from its API
    page.wait_for_function(
        "() => { const s = [...document.querySelectorAll('input.score')];"
        " return s.length > 0 && s.every(e => e.placeholder !== ''); }"
    )


def _scores(page) -> dict[str, tuple[str, str]]:
    """grade id -> (the manual score typed in, the automatic score shown as placeholder)."""
    fields = page.eval_on_selector_all("input.score", "els => els.map(e => [e.id, e.value, e.placeholder])")
    return {gid: (value, auto) for gid, value, auto in fields}


def test_the_instructor_sees_the_trusted_score_not_the_kernels_claim(formgrader: Formgrader) -> None:
    gid, points = grade_cells(A)["rnn_cell_forward"]
    with browser_page(formgrader, f"/formgrader/gradebook/{A}/{A}") as page:
        assert _row(page, CHEATER).locator("td.score").inner_text() == "40 / 50"
        assert _row(page, HONEST).locator("td.score").inner_text() == "50 / 50"
        _open_submission(page, CHEATER)
        expected = {g: ("", "0" if g == gid else f"{p:g}") for g, p in grade_cells(A).values()}
        assert _scores(page) == expected
        # the kernel's claim is still in the cell's output: the tamper worked there, and the
        # score beside it is the trusted verify's, not that claim
        cell = page.locator("div.code_cell", has=page.locator(f"#{gid}"))
        assert "OK - rnn_cell_forward: all" in cell.locator(".output_wrapper").inner_text()
        summary = page.locator("tr", has=page.locator("code", has_text=re.compile("^rnn_cell_forward$")))
        assert summary.first.inner_text().split() == ["rnn_cell_forward", "0", "/", f"{points:g}", "failed"]
        page.locator(".navbar .name-hidden.glyphicon").click()  # the student's name, not "Submission #2"
        cell.scroll_into_view_if_needed()
        page.mouse.wheel(0, -120)  # the summary's last line and the claim under the cell in view
        page.screenshot(path=formgrader.shots / "formgrader_cheater.png")


def test_a_manual_score_set_in_formgrader_survives_grade_force(formgrader: Formgrader) -> None:
    gid, points = grade_cells(A)["rnn_forward"]
    with browser_page(formgrader, f"/formgrader/gradebook/{A}/{A}") as page:
        _open_submission(page, HONEST)
        assert _scores(page)[gid] == ("", f"{points:g}")
        field = page.locator(f"#{gid}")
        field.click()
        field.press_sequentially(str(MANUAL))
        # leaving the field saves it: formgrader PUTs the grade to its API
        with page.expect_response(
            lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"
        ) as put:
            field.press("Tab")
        assert put.value.ok and put.value.json()["manual_score"] == MANUAL, put.value.text()
        graded_at = page.url

        _grade(formgrader, "--force")

        page.goto(graded_at)  # a reload: the same submission, as formgrader lists it now
        _wait_for_scores(page)
        assert _scores(page)[gid] == (str(MANUAL), f"{points:g}")  # kept; the automatic score beside it
        page.locator(".navbar .name-hidden.glyphicon").click()
        page.locator("div.code_cell", has=field).scroll_into_view_if_needed()
        page.screenshot(path=formgrader.shots / "formgrader_manual_score.png")
        page.goto(f"{formgrader.url}/formgrader/gradebook/{A}/{A}")
        assert _row(page, HONEST).locator("td.score").inner_text() == f"{50 - points + MANUAL:g} / 50"
        assert _row(page, CHEATER).locator("td.score").inner_text() == "40 / 50"
    with Gradebook(db_url(formgrader.course)) as gb:
        grade = gb.find_grade(gid, A, A, HONEST)
        assert (grade.manual_score, grade.auto_score, grade.score) == (MANUAL, points, MANUAL)
        assert gb.find_submission(A, HONEST).score == 50 - points + MANUAL
    with open(formgrader.course / "reports" / A / "grades.csv", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows[HONEST]["rnn_forward"] == f"{MANUAL:g}" and rows[HONEST]["set by hand"] == "rnn_forward"
