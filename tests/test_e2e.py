"""End to end: `streamlit run app.py` on a loopback port, driven by Debian Chromium via Playwright.

Needs /usr/bin/chromium (`make browser`). Without it the tests skip, unless CI is set: then a
missing browser is a failure, so CI cannot silently stop running them."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from citeline.config import PROJECT_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEED = "Is there a link between gut health and mental health?"
XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script> gut health"
CLINICIAN_DISCLAIMER = "verify every point"
PATIENT_DISCLAIMER = "not medical advice"
SCREENSHOT = PROJECT_ROOT / "reports" / "e2e.png"

# Milliseconds (Playwright) unless named _S. The first answer loads the embedding model.
STARTUP_S = 120
ANSWER_MS = 180_000
UI_MS = 60_000

CHAT_MESSAGE = '[data-testid="stChatMessage"]'
ASSISTANT_AVATAR = '[data-testid="stChatMessageAvatarAssistant"]'
USER_AVATAR = '[data-testid="stChatMessageAvatarUser"]'
CITED = re.compile(r"(\[\d+\])+$")


# --------------------------------------------------------------------------------------------
# helpers


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> str:
    """GET without any proxy from the environment (loopback only; conftest blocks egress)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as r:
        return r.read().decode("utf-8", "replace")


def wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"streamlit exited with {proc.returncode} before {url} answered:\n"
                + log.read_text(errors="replace")[-5000:],
                pytrace=False,
            )
        try:
            if http_get(url).strip() == "ok":
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(
        f"{url} did not answer within {timeout_s:.0f} s; streamlit stderr:\n"
        + log.read_text(errors="replace")[-5000:],
        pytrace=False,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def script_state(page) -> str:  # type: ignore[no-untyped-def]
    return str(
        page.evaluate(
            "() => document.querySelector('[data-testid=\"stApp\"]')"
            "?.getAttribute('data-test-script-state') ?? ''"
        )
    )


def wait_idle(page, timeout_ms: int = UI_MS) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app's script run has finished (Streamlit marks the root element)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=timeout_ms,
    )


def wait_rerun(page, timeout_ms: int = UI_MS) -> None:  # type: ignore[no-untyped-def]
    """After a widget interaction: let the rerun start (it may be over already), then finish."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stApp\"]')"
            "?.getAttribute('data-test-script-state') !== 'notRunning'",
            timeout=3_000,
        )
    wait_idle(page, timeout_ms)


def assistant_messages(page):  # type: ignore[no-untyped-def]
    return page.locator(CHAT_MESSAGE).filter(has=page.locator(ASSISTANT_AVATAR))


def user_messages(page):  # type: ignore[no-untyped-def]
    return page.locator(CHAT_MESSAGE).filter(has=page.locator(USER_AVATAR))


def disclaimer_count(page) -> int:  # type: ignore[no-untyped-def]
    return int(
        page.evaluate(
            """([a, b]) => [...document.querySelectorAll('[data-testid="stChatMessage"]')]
                 .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'))
                 .filter(m => m.innerText.includes(a) || m.innerText.includes(b)).length""",
            [CLINICIAN_DISCLAIMER, PATIENT_DISCLAIMER],
        )
    )


def ask(page, question: str, timeout_ms: int = ANSWER_MS):  # type: ignore[no-untyped-def]
    """Type a question into st.chat_input, submit, and return the new assistant message once
    its answer (which always ends with a disclaimer) is on the page and the run is over."""
    before = disclaimer_count(page)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        """([a, b, n]) => [...document.querySelectorAll('[data-testid="stChatMessage"]')]
             .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'))
             .filter(m => m.innerText.includes(a) || m.innerText.includes(b)).length > n""",
        arg=[CLINICIAN_DISCLAIMER, PATIENT_DISCLAIMER, before],
        timeout=timeout_ms,
    )
    wait_idle(page, timeout_ms)
    msgs = assistant_messages(page)
    assert msgs.count() == before + 1, f"expected {before + 1} answers, saw {msgs.count()}"
    return msgs.nth(before)


def verdict_text(message) -> str:  # type: ignore[no-untyped-def]
    """The answer's opening paragraph when it starts in bold (the verdict), else ''. The
    st.status box, notices (alerts) and captions such as "Searched for:" may precede it."""
    return str(
        message.evaluate(
            """m => {
                 const SKIP = '[data-testid="stAlert"], [data-testid="stCaptionContainer"], '
                   + '[data-testid="stExpander"]';  // notices, captions, the status box
                 const md = [...m.querySelectorAll('[data-testid="stMarkdownContainer"]')]
                   .find(e => !e.closest(SKIP));
                 const p = md && md.firstElementChild;
                 const ok = p && p.tagName === 'P' && p.firstElementChild?.tagName === 'STRONG'
                   && p.firstElementChild === p.firstChild;
                 return ok ? p.innerText.trim() : '';
               }"""
        )
    )


def cited_bullets(message) -> list[str]:  # type: ignore[no-untyped-def]
    """Texts of the answer's bullet points (not the glossary, which sits in an expander)."""
    return list(
        message.evaluate(
            """m => [...m.querySelectorAll('[data-testid="stMarkdownContainer"] ul > li')]
                 .filter(li => !li.closest('[data-testid="stExpander"]'))
                 .map(li => li.innerText.trim())"""
        )
    )


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def screenshot_full(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Streamlit scrolls inside its own <main>, so full_page alone captures one viewport: grow
    the viewport to the tallest scrolling element's content first (twice: layout may shift)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1280, "height": 900}
    for _ in range(2):
        height = int(
            page.evaluate(
                """() => Math.max(document.documentElement.scrollHeight,
                     ...[...document.querySelectorAll('*')]
                       .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowY))
                       .map(e => e.scrollHeight))"""
            )
        )
        page.set_viewport_size({"width": size["width"], "height": min(max(height, 900), 15_000)})
        page.wait_for_timeout(500)  # let the layout settle after the resize
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


# --------------------------------------------------------------------------------------------
# fixtures


@dataclass
class PageLog:
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def app_url(chromium: object, corpus_home: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`streamlit run app.py` on a free loopback port, serving the corpus index."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITELINE_", "STREAMLIT_"))}
    env.update(
        CITELINE_HOME=str(corpus_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        wait_healthy(proc, f"{url}/_stcore/health", log, STARTUP_S)
        print(f"\nstreamlit healthy on {url} after {time.monotonic() - t0:.1f} s")
        yield url
    finally:
        stop(proc)


@pytest.fixture
def page(chromium, app_url: str) -> Iterator[tuple[object, PageLog]]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_MS)
    pg = context.new_page()
    log = PageLog()
    pg.on(
        "console",
        lambda m: (
            log.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    pg.on("pageerror", lambda e: log.page_errors.append(str(e)))

    def on_dialog(d) -> None:  # type: ignore[no-untyped-def]
        log.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    pg.on("dialog", on_dialog)
    try:
        t0 = time.monotonic()
        pg.goto(app_url, wait_until="domcontentloaded")
        pg.get_by_test_id("stChatInputTextArea").wait_for(state="visible", timeout=ANSWER_MS)
        wait_idle(pg, ANSWER_MS)  # the first run opens the index and loads the model
        print(f"\napp page ready after {time.monotonic() - t0:.1f} s")
        yield pg, log
    finally:
        if log.console or log.page_errors:
            print("\nbrowser console:\n  " + "\n  ".join(log.console + log.page_errors))
        context.close()


# --------------------------------------------------------------------------------------------
# tests


def test_e2e_conversation_citations_audience_and_screenshot(page) -> None:  # type: ignore[no-untyped-def]
    pg, log = page
    t0 = time.monotonic()

    # 1. the seed question: verdict, cited bullets, references, disclaimer
    first = ask(pg, SEED)
    answered_s = time.monotonic() - t0
    verdict = verdict_text(first)
    assert verdict, f"no bold verdict opens the answer:\n{first.inner_text()}"
    assert CITED.search(verdict), verdict
    bullets = cited_bullets(first)
    assert len(bullets) >= 3, first.inner_text()
    assert all(CITED.search(b) for b in bullets), bullets
    assert first.locator("h4", has_text="References").is_visible()
    assert first.get_by_text(CLINICIAN_DISCLAIMER).is_visible()
    cited = {int(n) for b in bullets for n in re.findall(r"\[(\d+)\]", b)}
    expanders = first.locator('[data-testid="stExpander"]').filter(has_text="Source passage [")
    assert expanders.count() >= max(cited), (
        f"citations {sorted(cited)} but {expanders.count()} passages"
    )

    # 2. a follow-up is rewritten into a standalone search
    second = ask(pg, "what about probiotics?")
    searched = second.get_by_text("Searched for:")
    assert searched.is_visible(), second.inner_text()
    assert "probiotic" in searched.inner_text().lower()
    assert second.get_by_text(CLINICIAN_DISCLAIMER).is_visible()

    # 3. opening a citation shows the passage it points to
    source = first.locator('[data-testid="stExpander"]').filter(has_text="Source passage [1]").first
    details = source.get_by_test_id("stExpanderDetails")
    assert not details.is_visible(), "passages start collapsed"
    # A click that lands while Streamlit re-renders the page is lost: wait for the page to be
    # idle, and click again (bounded) if the passage did not open.
    for _ in range(3):
        wait_rerun(pg)
        source.locator("summary").click()
        try:
            details.wait_for(state="visible", timeout=20_000)
            break
        except PlaywrightTimeout:
            continue
    details.wait_for(state="visible", timeout=5_000)
    passage = details.inner_text().strip()
    assert len(passage) > 40, passage
    corpus = " ".join(
        words(p.read_text(encoding="utf-8")) for p in (PROJECT_ROOT / "corpus").glob("*.md")
    )
    head = " ".join(words(passage).split()[:12])
    assert head in corpus, f"passage not from the corpus: {passage[:200]}"

    # 4. the patient audience gets the patient disclaimer
    sidebar = pg.get_by_test_id("stSidebar")
    assert sidebar.get_by_text("Which best describes you?").is_visible()
    sidebar.get_by_text("Patient or carer").click()
    wait_rerun(pg)
    assert sidebar.get_by_role("radio", name="Patient or carer").is_checked()
    third = ask(pg, "Can stress upset my stomach?")
    assert third.get_by_text(PATIENT_DISCLAIMER).is_visible(), third.inner_text()
    assert CLINICIAN_DISCLAIMER not in third.inner_text()

    screenshot_full(pg, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000
    assert not log.dialogs, log.dialogs
    assert not log.page_errors, log.page_errors
    print(
        f"\nverdict: {verdict}\n{len(bullets)} cited bullets; first answer after "
        f"{answered_s:.1f} s; test body {time.monotonic() - t0:.1f} s"
    )


def test_e2e_untrusted_html_in_a_question_is_shown_as_text(page) -> None:  # type: ignore[no-untyped-def]
    pg, log = page
    answer = ask(pg, XSS)
    bubble = user_messages(pg).last
    shown = bubble.inner_text()
    assert "<script>alert(2)</script>" in shown, shown
    assert "<img src=x onerror=alert(1)>" in shown, shown
    assert pg.get_by_text("<script>alert(2)</script>").first.is_visible()
    injected = pg.evaluate(
        """() => ({
            imgs: [...document.querySelectorAll('img')]
                .filter(i => i.getAttribute('src') === 'x' || i.hasAttribute('onerror')).length,
            scripts: [...document.querySelectorAll('script')]
                .filter(s => (s.textContent || '').includes('alert(')).length,
        })"""
    )
    assert injected == {"imgs": 0, "scripts": 0}, injected
    assert answer.get_by_text(CLINICIAN_DISCLAIMER).is_visible()
    pg.wait_for_timeout(500)  # an onerror handler would fire right after the image failed
    assert not log.dialogs, f"an injected script ran: {log.dialogs}"
