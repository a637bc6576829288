"""A student's first hour, in a real browser: the bundle alone, JupyterLab, Chromium.

``python -m autograder release`` writes the bundle; a fresh virtual environment gets
only its ``requirements.txt`` (no repository, no instructor tools); JupyterLab is
started there on loopback and Debian's Chromium, driven by Playwright, opens the
notebooks and runs them as a student does (Run > Run All Cells). Screenshots go to
``$AUTOGRADER_SCREENSHOTS`` when it is set (``docs/screenshots/`` holds the committed
ones). ``assign_5b`` is run headless in the same environment (its training plots);
``assign_5c`` trains its two networks in the browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.instructor import submissions
from autograder.instructor.mistakes import CATALOG

pytestmark = pytest.mark.xdist_group("student_browser")
CHROMIUM = shutil.which("chromium")
TOKEN = "student"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen
IDLE = (
    "() => { const s = document.querySelector('.jp-StatusBar-Widget');"
    " return s !== null && s.innerText.includes('Idle'); }"
)


@dataclass
class Lab:
    url: str
    work: Path  # JupyterLab's root folder: the notebooks the student opens
    python: Path  # the student environment's interpreter
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not CHROMIUM:
        why = "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)
    root = tmp_path_factory.mktemp("student")
    bundle = root / "student"
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "release", "--out", str(bundle)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    # nothing of the grader's environment: no PYTHONPATH, no editable course package
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8"}
    env["PIP_CACHE_DIR"] = str(Path.home() / ".cache" / "pip")  # downloads only, shared
    install = [str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check", "-r", "requirements.txt"]
    run = subprocess.run(install, cwd=bundle, capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    # the whole notebook in the page (no virtual scrolling), no news pop-up
    settings = root / "venv" / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension:notification": {
                    "fetchNews": "false",
                    "checkForUpdates": False,
                },
            }
        )
    )
    work = root / "work"
    shutil.copytree(bundle / "notebooks", work)
    port = _free_port()
    server = subprocess.Popen(
        [str(bin_dir / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
        + [f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={work}", "--allow-root"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "JupyterLab did not start"
                time.sleep(0.5)
        yield Lab(url, work, bin_dir / "python", env)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_all(lab: Lab, name: str, nb: nbformat.NotebookNode, screenshot: str) -> dict:
    """Open ``nb`` in JupyterLab as ``name``, Run All Cells, wait for the kernel; return the
    texts of the outputs, the number of rendered formulas and images, and the screenshot."""
    from playwright.sync_api import sync_playwright

    nbformat.write(nb, lab.work / name)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # ?reset: a fresh workspace, with no tab of an earlier test restored beside this one
            page.goto(f"{lab.url}/lab/tree/{name}?reset&token={TOKEN}")
            page.wait_for_selector(f"{PANEL} .jp-Cell", timeout=120_000)
            page.wait_for_function(IDLE, timeout=120_000)
            page.locator(f"{PANEL} .jp-Notebook").click()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator("li[data-command='runmenu:run-all']").click()
            # done: the first cell has run (a fresh kernel: its count is 1), none is queued or running
            done = (
                f"() => {{ const p = [...document.querySelectorAll('{PANEL} .jp-InputPrompt')]"
                ".map(e => e.textContent.trim());"
                " return p.includes('[1]:') && !p.some(t => t.includes('*')); }"
            )
            page.wait_for_function(done, timeout=300_000)
            page.wait_for_function(IDLE, timeout=300_000)
            outputs = page.eval_on_selector_all(
                f"{PANEL} .jp-OutputArea-output", "els => els.map(e => e.innerText)"
            )
            errors = page.locator(
                f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            )
            images = page.locator(f"{PANEL} .jp-OutputArea-output img")
            (errors.first if errors.count() else images.last).scroll_into_view_if_needed()
            folder = Path(os.environ.get("AUTOGRADER_SCREENSHOTS") or lab.work)
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=folder / screenshot)
            # the markdown's figures (cell attachments): alt text and width once loaded
            figures = page.eval_on_selector_all(
                f"{PANEL} .jp-MarkdownOutput img", "els => els.map(e => [e.alt, e.naturalWidth])"
            )
            return {
                "outputs": outputs,
                "figures": dict(figures),
                "formulas": page.locator(f"{PANEL} mjx-container").count(),
                "images": images.count(),
                "screenshot": folder / screenshot,
            }
        finally:
            browser.close()


def test_blank_notebook_stops_at_the_first_function_with_a_clean_message(lab: Lab) -> None:
    seen = run_all(lab, "blank_5a.ipynb", submissions.release("assign_5a"), "assign_5a_blank.png")
    assert seen["formulas"] > 20  # the LaTeX is rendered
    assert unrolled_figure_width(seen, "The RNN unrolled") == 720  # drawn, at its natural size
    failed = [o for o in seen["outputs"] if "not right yet" in o]
    # Run All stops at the first check, as the introduction says
    assert len(failed) == 1, seen["outputs"]
    (message,) = failed
    assert message.startswith("rnn_cell_forward is not right yet."), message
    assert "NotImplementedError" in message and "Traceback" not in message and "File " not in message
    assert seen["screenshot"].stat().st_size > 10_000


def unrolled_figure_width(seen: dict, alt_start: str) -> int:
    widths = [w for alt, w in seen["figures"].items() if alt.startswith(alt_start)]
    assert len(widths) == 1, seen["figures"]
    return widths[0]


def test_blank_assign_5b_stops_at_its_first_function(lab: Lab) -> None:
    seen = run_all(lab, "blank_5b.ipynb", submissions.release("assign_5b"), "assign_5b_blank.png")
    assert seen["formulas"] > 20
    assert unrolled_figure_width(seen, "Backpropagation through time") == 720
    failed = [o for o in seen["outputs"] if "not right yet" in o]
    assert len(failed) == 1 and failed[0].startswith("rnn_cell_backward is not right yet."), seen["outputs"]


def test_completed_notebook_passes_every_check_and_draws_the_figure(lab: Lab) -> None:
    seen = run_all(lab, "completed_5a.ipynb", submissions.completed("assign_5a"), "assign_5a_completed.png")
    checks = [o for o in seen["outputs"] if "test case(s) passed" in o]
    # four self-checks, and the same checks in the four grade cells (what Validate runs)
    assert len(checks) == 8 and all(o.startswith("OK - ") for o in checks), seen["outputs"]
    assert not [o for o in seen["outputs"] if "not right yet" in o or "Error" in o]
    assert seen["images"] == 1  # the memory figure


def test_a_catalogued_mistake_gets_its_hint(lab: Lab) -> None:
    mistake = CATALOG["gru_cell_forward"][0]
    nb = submissions.with_mistake("assign_5a", "gru_cell_forward", mistake)
    seen = run_all(lab, "mistake_5a.ipynb", nb, "assign_5a_mistake.png")
    message = next(o for o in seen["outputs"] if "gru_cell_forward is not right yet" in o)
    assert " ".join(mistake.hint.split()) in " ".join(message.split()), message


def test_blank_assign_5c_stops_at_its_first_function(lab: Lab) -> None:
    seen = run_all(lab, "blank_5c.ipynb", submissions.release("assign_5c"), "assign_5c_blank.png")
    assert seen["formulas"] > 20  # the derivation, shapes under each equation, is rendered
    assert unrolled_figure_width(seen, "Backward through one GRU cell") == 720
    failed = [o for o in seen["outputs"] if "not right yet" in o]
    assert len(failed) == 1 and failed[0].startswith("gru_cell_backward is not right yet."), seen["outputs"]


def test_assign_5c_mistake_gets_its_hint(lab: Lab) -> None:
    mistake = next(m for m in CATALOG["gru_cell_backward"] if "reset gate's path" in m.name)
    nb = submissions.with_mistake("assign_5c", "gru_cell_backward", mistake)
    seen = run_all(lab, "mistake_5c.ipynb", nb, "assign_5c_mistake.png")
    message = next(o for o in seen["outputs"] if "gru_cell_backward is not right yet" in o)
    assert " ".join(mistake.hint.split()) in " ".join(message.split()), message


def test_completed_assign_5c_passes_its_checks_and_draws_both_figures(lab: Lab) -> None:
    """In the student's environment the long-range task trains (about 30 s) and both of its
    figures appear: accuracy against T, and the gradient reaching each step."""
    seen = run_all(lab, "completed_5c.ipynb", submissions.completed("assign_5c"), "assign_5c_completed.png")
    checks = [o for o in seen["outputs"] if "test case(s) passed" in o]
    assert len(checks) == 4 and all(o.startswith("OK - ") for o in checks), seen["outputs"]
    assert not [o for o in seen["outputs"] if "not right yet" in o or "Error" in o]
    assert seen["images"] == 2
    text = "\n".join(seen["outputs"])
    for kind in ("RNN", "GRU"):  # the accuracies it printed, one line per model
        assert re.search(rf"^{kind}: T=5: \d+%, T=10: \d+%", text, re.M), text


def test_assign_5b_trains_and_plots_in_the_student_environment(lab: Lab, tmp_path: Path) -> None:
    """Headless, in the same environment: the figures and the invented names appear."""
    path = tmp_path / "assign_5b.ipynb"
    nbformat.write(submissions.completed("assign_5b"), path)
    cmd = [str(lab.python), "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", str(path)]
    cmd.append("--ExecutePreprocessor.timeout=600")
    run = subprocess.run(cmd, capture_output=True, text=True, env=lab.env, cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    # the five figures: held-out loss of the elements and of the movies, gradient flow for
    # three spectral radii and in the trained models, the clipping grid
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 5
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "Invented elements (" in text and "Invented titles:" in text
