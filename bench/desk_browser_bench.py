"""The desk at a busy year's size in a real browser: what a case worker waits for, and what the desk's process spends.

    .venv/bin/python -m bench.desk_browser_bench --cases 3000 50000 --shots var/desk-browser-shots

For each size: a fresh SQLite operator store filled with the desk's demo data as bench/desk_bench.py
fills it (`grievance demo-data` and a worker's answer on one case in twenty), a caseworker and an
analyst with a second factor, then the real `grievance desk serve` started as a process of its own
(gunicorn, one worker, which opens every case into memory at start; no pulls). A status change is
pushed to the hotline's operator API, here a stand-in on 127.0.0.1 that answers as the API does.
Debian's headless Chromium, driven by Selenium through chromium-driver with the flags the reports are
printed with (desk/reports/render.py), signs the caseworker in through the real forms (password, then
the code of the authenticator app) and does what a case worker does; the analyst, in a second browser,
looks at the Patterns page (a caseworker may not), where the analyst's sign-in lands.

Each step is timed in the browser by the Navigation Timing of the page it led to: the server's time is
responseStart - requestStart (plus the redirect before it: a form's POST, on 127.0.0.1; not for the
Patterns page the analyst's code leads to, which is that page's alone), the page shown is loadEventEnd
(from the click or the address given to the page loaded, with its style sheets). The caseworker's
sign-in is one step of two pages (the password's, then the code's and the inbox it leads to). The CPU
seconds of the desk's worker process (all its threads, /proc/<pid>/stat, in ticks of 10 ms) are read
before and after each step: the machine is shared, so wall times wait for a core. A step that can be
repeated is done `--repeat` times (the median; the status change on as many waiting cases, the first of
which makes the desk's first HTTP client of the operator API); a first visit, once. The RSS of the
worker is read once it opened every case and after the steps. Target (issue 22): under 300 ms of server
time per route at 50,000 cases.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyotp
import yaml
from pyrage import x25519
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

from bench.desk_bench import PASSWORD, demo_config, fill_demo_desk
from bot.config import settings_from_mapping
from desk.reports.render import CHROMIUM_FLAGS
from desk.store import DeskStore

TARGET_MS = 300
TICK = os.sysconf("SC_CLK_TCK")
SEARCHED = "sunrise"  # a workplace of the demo data (desk/reports/demo.py): "Sunrise Garments Ltd"
NAVIGATION = "return performance.getEntriesByType('navigation')[0].toJSON()"


@dataclass
class Step:
    """One thing the case worker did: the median server and shown ms and CPU ms of its visits; the page's text and address."""
    name: str
    server_ms: list[float] = field(default_factory=list)
    shown_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)  # the server time of the page landed on alone, without the redirect
    text: str = ""
    url: str = ""

    def median(self, figures: list[float]) -> float:
        return statistics.median(figures) if figures else float("nan")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class StandInOperatorApi:
    """The hotline server's operator API as far as these steps reach it: a status change is pushed to it over HTTP
    (desk/operator_client.py), answered as bot/operator_api.py answers, and the pushes kept (`pushed`)."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self.pushed: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  the name http.server calls
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                parts = self.path.strip("/").split("/")
                if self.headers.get("Authorization") != f"Bearer {api.token}":
                    self._answer(401, {"error": "unauthorized"})
                elif len(parts) == 4 and parts[:2] == ["v1", "cases"] and parts[3] == "status":
                    api.pushed.append((parts[2], body.get("status")))
                    self._answer(200, {"case_id": parts[2], "status": body.get("status"), "delivery": "kept"})
                else:
                    self._answer(404, {"error": "not found"})

            def _answer(self, code: int, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DemoDeskServer:
    """A demo desk of `cases` cases in `folder`, served by `grievance desk serve` in a process of its own."""

    def __init__(self, folder: Path, cases: int, api: StandInOperatorApi) -> None:
        self.folder, self.cases, self.api = folder, cases, api
        self.secrets: dict[str, str] = {}
        self.process: subprocess.Popen | None = None
        self.worker = 0
        self.port = _free_port()
        self.base = f"http://localhost:{self.port}"  # localhost: Chromium keeps the desk's Secure cookie over plain HTTP here

    def fill(self) -> tuple[float, int]:
        """The store filled, the accounts made: (seconds the demo data took, answers kept)."""
        identity = str(x25519.Identity.generate())
        key = self.folder / "operator-identity.txt"
        with os.fdopen(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:  # a throwaway key, never readable by others
            out.write(identity + "\n")
        config = demo_config(str(self.folder))
        config["operator"]["identity_file"] = str(key)
        config["operator_client"] = {"url": self.api.url}
        (self.folder / "config.yaml").write_text(yaml.safe_dump(config))
        settings = settings_from_mapping(config, base_dir=self.folder)
        store, filled, answered = fill_demo_desk(settings, identity, self.cases)
        desk_store = DeskStore(store)
        try:
            for name, role in (("cai", "caseworker"), ("ana", "analyst")):
                desk_store.add_user(name, PASSWORD, role, totp_required=True)
                self.secrets[name] = pyotp.random_base32()
                desk_store.enroll_totp(name, self.secrets[name])
        finally:
            desk_store.close()
        return filled, answered

    def start(self, timeout: float = 600) -> float:
        """`grievance desk serve` started and answering; the seconds it took (it opens every case at start)."""
        started = time.perf_counter()
        self.log = open(self.folder / "desk-serve.log", "w")  # noqa: SIM115  closed in stop()
        self.process = subprocess.Popen(  # noqa: S603  this interpreter, fixed arguments
            [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(self.folder / "config.yaml"),
             "desk", "serve", "--port", str(self.port), "--pull-every", "0"],
            cwd=self.folder, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "GRIEVANCE_OPERATOR_API_TOKEN": self.api.token})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"desk serve stopped ({self.process.returncode}): {self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=5) as response:  # noqa: S310  our own desk
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"desk serve did not answer in {timeout:.0f} s: {self.tail()}")
        (self.worker,) = _children(self.process.pid)  # gunicorn's one worker: the cases are in its memory
        return time.perf_counter() - started

    def tail(self) -> str:
        return (self.folder / "desk-serve.log").read_text()[-2000:]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.worker}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime and stime, the 14th and 15th fields

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.worker}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def code(self, name: str) -> str:
        return pyotp.TOTP(self.secrets[name]).now()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()


def start_browser(profile: Path) -> webdriver.Chrome:
    """Debian's headless Chromium with the flags the report printing uses (desk/reports/render.py), through chromium-driver."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag.replace("--headless", "--headless=new"))
    options.add_argument("--window-size=1280,1000")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    driver.set_page_load_timeout(600)
    return driver


def _left(page):
    """A wait condition: the browser has left `page` (its root element). Chromium says so either as a stale
    element or, when the old document is torn down during the check, as "Node ... does not belong to the
    document" (a plain WebDriverException, which selenium's `staleness_of` lets through)."""

    def left(_driver) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one
            return True
        return False

    return left


class Walk:
    """The case worker's steps in `driver` (and the analyst's in `analyst`) on `desk`, each measured into `steps`."""

    def __init__(self, desk: DemoDeskServer, driver, analyst, repeat: int, wait: float = 600) -> None:
        self.desk, self.driver, self.analyst, self.repeat, self.wait = desk, driver, analyst, repeat, wait
        self.steps: dict[str, Step] = {}

    def _loaded(self, driver, shows: str) -> dict:
        """Wait for the page showing `shows` (a CSS selector) to have loaded; its navigation entry."""
        WebDriverWait(driver, self.wait).until(lambda d: d.find_elements(By.CSS_SELECTOR, shows))
        return WebDriverWait(driver, self.wait).until(
            lambda d: (entry := d.execute_script(NAVIGATION)) and entry["loadEventEnd"] > 0 and entry)

    def measure(self, name: str, act, shows: str, driver=None, *, clicks: bool = False, redirect_too: bool = True) -> Step:
        """Do `act` (a navigation, or a click that leads to one when `clicks`), wait for the page showing `shows`, and
        add its figures to the step `name` (the server's time of the redirect before the page too, unless not `redirect_too`)."""
        driver = driver or self.driver
        step = self.steps.setdefault(name, Step(name))
        old_page = driver.find_element(By.TAG_NAME, "html") if clicks else None
        before = self.desk.cpu_seconds()
        act()
        if old_page is not None:
            WebDriverWait(driver, self.wait).until(_left(old_page))
        entry = self._loaded(driver, shows)
        step.cpu_ms.append((self.desk.cpu_seconds() - before) * 1000)
        redirect = entry["redirectEnd"] - entry["redirectStart"] if entry["redirectStart"] and redirect_too else 0
        step.server_ms.append(entry["responseStart"] - entry["requestStart"] + redirect)
        step.page_ms.append(entry["responseStart"] - entry["requestStart"])
        step.shown_ms.append(entry["loadEventEnd"])  # from the navigation's start (the click, or the address given)
        step.text, step.url = driver.find_element(By.TAG_NAME, "main").text, driver.current_url
        return step

    def visit(self, name: str, path: str, shows: str, driver=None, times: int = 0) -> Step:
        driver = driver or self.driver
        for _ in range(times or self.repeat):
            step = self.measure(name, lambda: driver.get(self.desk.base + path), shows, driver)
        return step

    def sign_in(self, driver, name: str, step_name: str, lands_on: str, landing: str | None = None) -> None:
        """The real forms: the password, then the code. One step from the first click to the page it lands on, or,
        with `landing`, the password's page alone and the `landing` step (the server time of the page landed on alone)."""
        driver.get(self.desk.base + "/login")
        driver.find_element(By.NAME, "username").send_keys(name)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        before = self.desk.cpu_seconds()
        password = self.measure(step_name, lambda: driver.find_element(By.ID, "sign-in").click(), "#verify", driver, clicks=True)
        driver.find_element(By.NAME, "code").send_keys(self.desk.code(name))
        self.measure(landing or step_name, lambda: driver.find_element(By.ID, "verify").click(), lands_on, driver, clicks=True,
                     redirect_too=landing is None)
        if landing is None:  # one step of two pages: the server time and CPU of both
            password.server_ms[-2:] = [sum(password.server_ms[-2:])]
            password.shown_ms[-2:] = [sum(password.shown_ms[-2:])]
            password.cpu_ms[-2:] = [(self.desk.cpu_seconds() - before) * 1000]
            password.page_ms[-2:] = [password.page_ms[-1]]

    def search(self, name: str, fill) -> Step:
        """The case list's form filled by `fill` and sent, `repeat` times (the list opened first each time, not timed)."""
        for _ in range(self.repeat):
            self.driver.get(self.desk.base + "/cases")
            fill(self.driver.find_element(By.ID, "filters"))
            step = self.measure(name, lambda: self.driver.find_element(By.ID, "apply-filters").click(), "#filters", clicks=True)
        return step

    def run(self, shots: Path | None = None) -> dict[str, Step]:
        driver, analyst, desk = self.driver, self.analyst, self.desk
        self.sign_in(driver, "cai", "sign-in of the caseworker, to the inbox", "#section-new")
        self.visit("inbox", "/inbox", "#section-overdue")
        if shots:
            driver.save_screenshot(str(shots / f"inbox-{desk.cases}.png"))
        self.visit("case list, page 1", "/cases", "table.cases")
        self.visit("case list, page 20", "/cases?page=20", "table.cases")

        def searched(form) -> None:
            form.find_element(By.NAME, "q").send_keys(SEARCHED)

        found = self.search(f"search '{SEARCHED}'", searched)
        first_found = driver.find_element(By.CSS_SELECTOR, "table.cases tbody a").get_attribute("href")

        def filtered(form) -> None:
            form.find_element(By.NAME, "q").send_keys("wages")
            Select(form.find_element(By.NAME, "status")).select_by_value("received")
            form.find_element(By.NAME, "channel").send_keys("sms")

        self.search("search 'wages' + status received + channel sms", filtered)
        waiting = [link.get_attribute("href") for link in driver.find_elements(By.CSS_SELECTOR, "table.cases tbody a")][:self.repeat]
        for _ in range(self.repeat):  # a case of the search opened from its list
            driver.get(found.url)
            self.measure("open a case (from the search)", lambda: driver.find_element(By.CSS_SELECTOR, "table.cases tbody a").click(),
                         "#description", clicks=True)
        self.steps["open a case (from the search)"].url = first_found

        # The analyst's code lands on the Patterns page (year to date): its first visit, the report made.
        self.sign_in(analyst, "ana", "sign-in of the analyst, the password's page", ".report h2",
                     landing="Patterns, first visit (where the analyst's sign-in lands)")
        self.visit("Patterns, second visit", "/patterns", ".report h2", analyst, times=1)
        if shots:
            analyst.save_screenshot(str(shots / f"patterns-{desk.cases}.png"))

        for case in waiting:  # cases still waiting, moved on one by one, the inbox looked at after each
            driver.get(case)
            Select(driver.find_element(By.ID, "new-status")).select_by_value("acknowledged")
            driver.find_element(By.ID, "status-reason").send_keys("[FAKE] read by the duty team")
            self.measure("status change (the case page again)", lambda: driver.find_element(By.ID, "change-status").click(),
                         "p.flash", clicks=True)
            self.visit("inbox after the status change", "/inbox", "#section-overdue", times=1)
        self.steps["status change (the case page again)"].url = waiting[-1]
        self.visit("Patterns after the status change", "/patterns", ".report h2", analyst, times=1)
        self.remade = None  # a large desk shows the report it has and makes the new one behind the page: how long that takes
        before, started = desk.cpu_seconds(), time.perf_counter()
        if analyst.find_elements(By.ID, "report-updating"):
            while analyst.find_elements(By.ID, "report-updating"):
                time.sleep(1)
                analyst.get(desk.base + "/patterns")
            self.remade = (time.perf_counter() - started, desk.cpu_seconds() - before)
        return self.steps


@dataclass
class Size:
    cases: int
    load: str
    filled_s: float
    answered: int
    started_s: float
    rss_opened: float
    rss_after: float
    steps: dict[str, Step]
    remade: tuple[float, float] | None
    pushed: list[tuple[str, str]]


def measure(cases: int, repeat: int, shots: Path | None, folder: Path | None = None, wait: float = 600) -> Size:
    """One size: a demo desk of `cases` in `folder` (a temporary one by default) served and walked through in two browsers."""
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="desk-browser-bench-") as temporary:
        folder = folder or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        api = StandInOperatorApi()
        desk = DemoDeskServer(folder, cases, api)
        drivers = []
        try:
            filled, answered = desk.fill()
            started = desk.start(timeout=wait)
            rss_opened = desk.rss_mb()
            drivers = [start_browser(folder / name) for name in ("caseworker-profile", "analyst-profile")]
            walk = Walk(desk, *drivers, repeat, wait)
            steps = walk.run(shots)
            rss_after = desk.rss_mb()
        finally:
            for driver in drivers:
                driver.quit()
            desk.stop()
            api.close()
    return Size(cases, load, filled, answered, started, rss_opened, rss_after, steps, walk.remade, api.pushed)


def table(sizes: list[Size]) -> str:
    lines = ["| step | " + " | ".join(f"{s.cases:,} cases: server ms, shown ms, desk CPU ms (medians)" for s in sizes) + " | target |",
             "|---|" + "---|" * len(sizes) + "---|"]
    for name, first in sizes[0].steps.items():
        if not first.server_ms:
            continue
        cells = []
        for size in sizes:
            step = size.steps[name]
            over = " **over**" if step.median(step.server_ms) > TARGET_MS and not name.startswith("sign-in") else ""
            alone = f" (the inbox alone {step.median(step.page_ms):.0f})" if name.startswith("sign-in of the caseworker") else ""
            worst = f" (max {max(step.server_ms):.0f})" if len(step.server_ms) > 1 else ""
            cells.append(f"{step.median(step.server_ms):.0f}{worst}{over}{alone}, {step.median(step.shown_ms):.0f}, {step.median(step.cpu_ms):.0f}")
        target = "-" if name.startswith("sign-in") else f"< {TARGET_MS} ms server"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, nargs="+", default=[3000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shots", type=Path, default=None, help="Folder for screenshots of the inbox and the Patterns page at the largest size.")
    args = parser.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    sizes = []
    for cases in args.cases:
        size = measure(cases, args.repeat, args.shots if cases == max(args.cases) else None)
        print(f"{cases:,} cases (load average {size.load} at the start): demo data filled in {size.filled_s:.1f} s, {size.answered} answers; "
              f"`desk serve` answered after {size.started_s:.1f} s; RSS of its worker {size.rss_opened:.0f} MB once it opened "
              f"every case, {size.rss_after:.0f} MB after the steps", flush=True)
        if size.remade:
            print(f"{cases:,} cases: after the status change the Patterns page showed the report it had, the new one made behind "
                  f"the page in {size.remade[0]:.1f} s ({size.remade[1]:.1f} s of the desk's CPU, with the reloads that waited for it)")
        sizes.append(size)
    print(table(sizes))


if __name__ == "__main__":
    main()
