"""10_explore in JupyterLab, driven by headless Chromium as a user would (``make test-browser``).

The test starts JupyterLab on a free port of 127.0.0.1 with a random token, opens a parameterized copy
of ``notebooks/10_explore.ipynb`` (a small DHF1K-layout dataset with two test videos and three untrained S_st runs), runs all
cells, checks that no cell has an error output, then moves the frame slider and changes the video, and
checks each time that the explorer's figure and table changed and that exactly one figure is on screen.
Every process it starts is stopped at the end. It needs Debian's ``chromium`` and ``chromium-driver``
(installed by ``make test-browser``) and the ``selenium`` package; nothing is downloaded at run time.

Screenshots of the explorer before and after the changes are written to ``$SALKD_BROWSER_SHOTS`` when
that variable names a folder.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from data_fixtures import make_dhf1k

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
selenium = pytest.importorskip("selenium", reason="selenium is not installed (make test-browser installs it)")
if CHROMIUM is None or DRIVER is None:
    pytest.skip("chromium / chromedriver not found: run `make test-browser` (installs Debian's chromium "
                "and chromium-driver)", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

TIMEOUT = 240.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, cond: Callable[[], Any], timeout: float = TIMEOUT, every: float = 0.25) -> Any:
    """Poll ``cond`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    end = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            got = cond()
            if got:
                return got
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a DOM node may vanish between polls
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last})" if last else ""))


def _make_runs(runs_root: Path) -> None:
    """Three complete (untrained) S_st runs named as the smoke profile's skd runs, so the explorer
    has a default selection and runs to add."""
    from salkd.models import build

    torch.manual_seed(0)
    state = {"model": build("skd_st").state_dict()}
    for name, res in (("dva-32-mu0.5", 32), ("dva-32-mu0", 32), ("dva-16-mu0.5", 16)):
        run = runs_root / "smoke" / "skd_st" / name
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"stage": "skd_st", "res": res, "model": {"name": "skd_st", "kwargs": {}}}))
        torch.save(state, run / "checkpoint.pt")
        (run / "metrics.json").write_text("{}")


def _parameterized_notebook(dest: Path, data: Path, runs_root: Path) -> Path:
    import papermill as pm

    out = dest / "10_explore.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "10_explore.ipynb"), str(out), prepare_only=True, log_output=False,
                        parameters={"PROFILE": "smoke", "DATA_FIXATION": str(data), "OUT": str(runs_root),
                                    "DEVICE": "cpu"}, progress_bar=False)
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free local port serving a folder with the parameterized 10_explore."""
    tmp = tmp_path_factory.mktemp("browser")
    data = make_dhf1k(tmp / "dhf1k", n_videos=8, n_frames=6)  # two test videos to switch between
    runs_root = tmp / "runs"
    _make_runs(runs_root)
    nbdir = tmp / "lab"
    nbdir.mkdir()
    _parameterized_notebook(nbdir, data, runs_root)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp / "rt"), JUPYTER_CONFIG_DIR=str(tmp / "cfg"),
               SALKD_PROGRESS="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    log = open(tmp / "jupyterlab.log", "w")  # noqa: SIM115 - closed in the teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={nbdir}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate", f"--LabApp.workspaces_dir={tmp / 'ws'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=nbdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {proc.returncode}; log: {(tmp / 'jupyterlab.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait("JupyterLab to answer", up, timeout=120, every=0.5)
        yield {"url": f"{base}/lab/tree/10_explore.ipynb?token={token}", "tmp": tmp, "proc": proc}
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process group we started: SIGTERM, then SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(lab):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1800", f"--user-data-dir={lab['tmp'] / 'chrome'}"):
        opts.add_argument(flag)
    service = webdriver.ChromeService(executable_path=DRIVER, log_output=str(lab["tmp"] / "chromedriver.log"))
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        yield driver
    finally:
        driver.quit()


# ---- reading the notebook through JupyterLab's own model -------------------------------------
_JS_OUTPUTS = """
const app = window.jupyterapp;
if (!app) return null;
const nb = Array.from(app.shell.widgets('main')).find(w => w.content && w.content.model && w.sessionContext);
if (!nb || !nb.sessionContext.session || !nb.sessionContext.session.kernel) return null;
const cells = [];
for (const cell of nb.content.model.cells) {
  const outs = cell.type === 'code' ? cell.outputs.toJSON() : [];
  cells.push({type: cell.type, count: cell.type === 'code' ? cell.executionCount : null, outputs: outs});
}
return {busy: nb.sessionContext.session.kernel.status, cells: cells};
"""


def _notebook(driver) -> dict[str, Any] | None:
    return driver.execute_script(_JS_OUTPUTS)


def _explorer_state(driver) -> dict[str, Any]:
    """The fixation explorer's output area: its images (PNG sources) and table HTML."""
    return driver.execute_script("""
const boxes = document.querySelectorAll('.widget-vbox');
if (!boxes.length) return null;
const box = boxes[0];
const out = box.querySelector('.widget-output');
if (!out) return null;
const imgs = Array.from(out.querySelectorAll('img')).map(i => i.src);
const tables = Array.from(out.querySelectorAll('table')).map(t => t.outerHTML);
const summary = box.querySelector('.widget-html-content');
return {imgs: imgs, tables: tables, summary: summary ? summary.innerText : ''};
""")


def _shot(driver, name: str) -> None:
    folder = os.environ.get("SALKD_BROWSER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _changed(driver, before: dict[str, Any]) -> dict[str, Any] | None:
    now = _explorer_state(driver)
    if now and len(now["imgs"]) == 1 and now["tables"] and now["imgs"] != before["imgs"] and now["tables"] != before["tables"]:
        return now
    return None


def test_explore_notebook_runs_and_redraws_in_place(lab, browser):
    d = browser
    d.get(lab["url"])
    _wait("the notebook to open with a kernel", lambda: (_notebook(d) or {}).get("busy") == "idle", timeout=180)
    # focus the notebook (its first cell), then JupyterLab's own "Run All Cells" command
    d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")[0].click()
    d.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")

    n_code = sum(c["type"] == "code" for c in _notebook(d)["cells"])

    def finished() -> bool:
        nb = _notebook(d)
        return nb["busy"] == "idle" and all(c["count"] is not None for c in nb["cells"] if c["type"] == "code")

    time.sleep(1.0)
    _wait(f"Run All to finish ({n_code} code cells)", finished)
    nb = _notebook(d)
    errors = [o for c in nb["cells"] for o in c["outputs"] if o.get("output_type") == "error"]
    assert not errors, f"error outputs after Run All: {[(e.get('ename'), e.get('evalue')) for e in errors]}"
    stderr = [o.get("text", "") for c in nb["cells"] for o in c["outputs"]
              if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not any("Traceback" in s for s in stderr), stderr
    # Run All prints results, figures and real warnings only: no progress bar for cached work
    assert not any("100%" in s for s in stderr), f"progress bars in Run All output: {stderr}"

    first = _wait("the explorer to draw one figure and one table",
                  lambda: (s := _explorer_state(d)) and len(s["imgs"]) == 1 and s["tables"] and s)
    assert "runs shown" in first["summary"], first["summary"]
    _shot(d, "explore-before")

    # the frame slider: focus its handle and press the right arrow (ipywidgets 8 / noUiSlider)
    handle = d.find_elements(By.CSS_SELECTOR, ".widget-vbox .widget-slider .noUi-handle")[0]
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    ActionChains(d).click(handle).send_keys(Keys.ARROW_RIGHT).perform()
    after_frame = _wait("the figure and table to change after moving the frame slider", lambda: _changed(d, first), timeout=90)
    _shot(d, "explore-after-frame")

    # the video dropdown: pick another video
    select = Select(d.find_elements(By.CSS_SELECTOR, ".widget-vbox .widget-dropdown select")[0])
    current = select.first_selected_option.text
    other = next(o.text for o in select.options if o.text != current)
    select.select_by_visible_text(other)
    after_video = _wait("the figure and table to change after choosing another video",
                        lambda: _changed(d, after_frame), timeout=90)
    assert other in after_video["summary"], after_video["summary"]
    _shot(d, "explore-after-video")

    # still one figure in the output area, and no error output appeared from the callbacks
    assert len(_explorer_state(d)["imgs"]) == 1
    # the figure is a real PNG (the widget state once carried raw bytes: a broken image)
    assert after_video["imgs"][0].startswith("data:image/png;base64,iVBORw0KGgo")
    nb = _notebook(d)
    assert not [o for c in nb["cells"] for o in c["outputs"] if o.get("output_type") == "error"]


def test_lab_stops_cleanly(lab):
    """The server we started is ours and still alive until the fixture stops it (checked after use)."""
    assert lab["proc"].poll() is None
