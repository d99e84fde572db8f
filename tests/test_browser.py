"""The HTML reports as an editor sees them: the demo reports, really scored, opened in headless Chromium.

Checks in the live DOM that every located span is marked, that findings show on hover and on keyboard
focus, that printing hides the side list and shows the findings, that text injected into an article stays
text, that the index sorts and filters, and that no page asks for anything outside its own file. Chromium
is Debian's package (``scripts/setup-browser.sh``); a machine without it fails here, it does not skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtqa.browser import BrowserMissing, chromium
from mtqa.policy import flagging_codes
from mtqa.report import write_reports
from mtqa.run import score_text

INJECTED = (
    "Officials <script>document.title='pwned';document.body.dataset.pwned='script'</script> open port\n"
    "By Staff Writer | Published 12 March 2024\n"
    "Officials opened the new container terminal at the port on Monday, the transport ministry said.\n"
    "The terminal handled <script>alert(1)</script> its first ship, carrying steel and grain, within hours.\n"
    "A spokesman said <img src=x onerror=\"document.body.dataset.pwned='img'\"> the port would double its "
    "capacity by next year.\n"
    "Workers said <i>the the</i> cranes had been tested for weeks before the opening.\n"
)

# Collects what the article page shows, for the assertions below: one record per <mark>, the flagged
# sentences with their accessibility hooks, and the article's visible text without the popovers.
READ_ARTICLE = """() => {
  const marks = [...document.querySelectorAll(".article mark")].map(m => ({
    ids: m.dataset.spans.split(" "), start: Number(m.dataset.start), text: m.textContent }));
  const flagged = [...document.querySelectorAll(".seg.flagged[id]")].map(s => ({
    id: s.id, tabindex: s.getAttribute("tabindex"), describedby: s.getAttribute("aria-describedby"),
    tooltip: document.getElementById(s.getAttribute("aria-describedby"))?.getAttribute("role") }));
  const clone = document.querySelector(".article").cloneNode(true);
  clone.querySelectorAll(".pop").forEach(p => p.remove());
  return { marks, flagged, text: clone.textContent, title: document.title,
           pwned: document.body.dataset.pwned || "", scripts: document.scripts.length,
           images: document.images.length };
}"""


@pytest.fixture(scope="module")
def browser():
    try:
        with chromium() as b:
            yield b
    except BrowserMissing as exc:
        pytest.fail(f"headless Chromium is needed for the browser tests: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def reports(demo_results, pipeline, tmp_path_factory) -> Path:
    injected = score_text(INJECTED, article_id="injected<script>", pipeline=pipeline)
    out = tmp_path_factory.mktemp("browser-reports")
    write_reports([*demo_results, injected], out)
    return out


def _open(browser, path: Path):
    """A page with `path` loaded, and the list of every URL it requested (kept up to date)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, requests


def _expected_spans(record: dict) -> dict[str, tuple[int, int]]:
    """From the article's JSON: every finding of a sentence or title, and the LM break of a sentence the language
    model flagged (no flagging finding) where the break is more surprising than its words."""
    spans = {}
    for seg in record["segments"]:
        if seg["kind"] == "boilerplate":
            continue
        for k, f in enumerate(seg["findings"]):
            spans[f"s{seg['index']}.f{k}"] = (f["start"], f["end"])
        brk = seg["features"].get("break")
        by_lm = not flagging_codes(f["code"] for f in seg["findings"])  # the break says something only then
        if seg["flagged"] and brk and by_lm and brk["score"] > 0:
            spans[f"s{seg['index']}.lm"] = (brk["start"], brk["end"])
    return spans


def test_article_pages_mark_every_located_span(browser, reports: Path) -> None:
    pages = sorted((reports / "articles").glob("*.html"))
    assert len(pages) == 9
    n_marked = 0
    for html in pages:
        record = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
        page, requests = _open(browser, html)
        dom = page.evaluate(READ_ARTICLE)
        assert requests == [html.as_uri()], requests  # self-contained: nothing else was fetched
        assert dom["scripts"] == 0 and dom["images"] == 0 and dom["pwned"] == ""

        expected = _expected_spans(record)
        covered: dict[str, list[int]] = {}
        for m in dom["marks"]:
            assert m["text"] == record["text"][m["start"] : m["start"] + len(m["text"])]  # marks sit on the text
            for span_id in m["ids"]:
                covered.setdefault(span_id, []).extend(range(m["start"], m["start"] + len(m["text"])))
        assert len(covered) == len(expected), html.name  # as many marked spans as the JSON locates
        for span_id, (start, end) in expected.items():
            assert sorted(covered[span_id]) == list(range(start, end)), (html.name, span_id)
        n_marked += len(expected)

        assert len(dom["flagged"]) == record["n_flagged"]
        for s in dom["flagged"]:
            assert s["tabindex"] == "0" and s["tooltip"] == "tooltip", s
        body = [s for s in record["segments"] if s["kind"] != "boilerplate"]
        assert all(" ".join(s["text"].split()) in " ".join(dom["text"].split()) for s in body)
        page.close()
    assert n_marked >= 20  # the damaged samples carry many findings; a page that marks none fails above


def test_findings_show_on_hover_and_on_keyboard_focus(browser, reports: Path, tmp_path: Path) -> None:
    page, _ = _open(browser, reports / "articles" / "05-kim-putin-fused.html")
    first = page.locator(".side a", has_text="fused-sentence").first
    target = first.get_attribute("href")[1:]
    pop = page.locator(f"#why-{target}")
    assert not pop.is_visible()

    page.keyboard.press("Tab")  # the skip link
    tabbed = []
    for _ in range(12):
        page.keyboard.press("Tab")
        tabbed.append(page.evaluate("document.activeElement.id"))
        if tabbed[-1] == target:
            break
    assert target in tabbed, tabbed  # flagged sentences are reached with the keyboard
    assert pop.is_visible() and "fused-sentence" in pop.inner_text()
    shot = tmp_path / "article-focus.png"
    page.screenshot(path=str(shot))

    page.evaluate("document.activeElement.blur()")
    assert not pop.is_visible()
    page.hover(f"#{target}", position={"x": 5, "y": 5})
    assert pop.is_visible()
    page.mouse.move(0, 0)

    first.click()  # the side list jumps to the sentence and shows why it is there
    assert page.evaluate("location.hash") == f"#{target}" and pop.is_visible()

    page.emulate_media(media="print")
    assert not page.locator(".side").is_visible()
    assert all(p.is_visible() for p in page.locator(".seg.flagged .pop").all())  # findings inline on paper
    page.screenshot(path=str(tmp_path / "article-print.png"), full_page=True)
    for png in (shot, tmp_path / "article-print.png"):
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_injected_markup_stays_text(browser, reports: Path, tmp_path: Path) -> None:
    [html] = [p for p in (reports / "articles").glob("injected*.html")]
    page, requests = _open(browser, html)
    dom = page.evaluate(READ_ARTICLE)
    assert "<script>alert(1)</script>" in dom["text"]
    assert "<img src=x onerror=\"document.body.dataset.pwned='img'\">" in dom["text"]
    assert dom["pwned"] == "" and dom["scripts"] == 0 and dom["images"] == 0
    assert dom["title"].startswith("mtqa: Officials <script>")  # the headline, as text, in the title
    assert requests == [html.as_uri()]  # the <img src=x> was never requested
    page.screenshot(path=str(tmp_path / "injected.png"), full_page=True)
    assert (tmp_path / "injected.png").stat().st_size > 10_000

    index, _ = _open(browser, reports / "index.html")
    link = index.locator("#articles a", has_text="Officials <script>")
    assert link.count() == 1 and index.evaluate("document.body.dataset.pwned || ''") == ""
    assert index.evaluate("document.scripts.length") == 1  # the page's own sorting script, nothing injected


READ_FIXES = """() => [...document.querySelectorAll(".fix")].map(f => ({
  inPop: !!f.closest(".pop"), inSide: !!f.closest(".side"), visible: f.checkVisibility(),
  deleted: [...f.querySelectorAll("del")].map(d => d.textContent),
  inserted: [...f.querySelectorAll("ins")].map(i => i.textContent),
  text: f.textContent, elements: [...f.querySelectorAll("*")].map(e => e.tagName.toLowerCase()),
  after: (c => { c.querySelectorAll("del, .gain").forEach(d => d.remove()); return c.textContent; })(f.cloneNode(true)),
}))"""


def test_suggested_repairs_show_as_a_diff_and_stay_text(browser, reports: Path) -> None:
    """The top suggestion of a finding shows in its popover and in the side list as deleted and inserted text;
    article markup around it stays text there too."""
    [html] = [p for p in (reports / "articles").glob("injected*.html")]
    record = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
    [(seg, doubled)] = [(s, f) for s in record["segments"] for f in s["findings"] if f["code"] == "doubled-word"]
    assert doubled["suggestions"][0]["replacement"] == "the"
    page, requests = _open(browser, html)
    fixes = [f for f in page.evaluate(READ_FIXES) if "<i>the" in f["text"]]
    assert {(f["inPop"], f["inSide"]) for f in fixes} == {(True, False), (False, True)}  # popover and side list
    for f in fixes:
        assert [d.strip() for d in f["deleted"]] == ["the"] and f["inserted"] == []
        assert "<i>the the</i>" in f["text"] and set(f["elements"]) <= {"del", "ins", "span"}
    assert page.evaluate("document.querySelectorAll('.article i, .side i, .pop i').length") == 0
    side = [f for f in fixes if f["inSide"]][0]
    assert side["visible"]
    pop = page.locator(f"#why-s{seg['index']} .fix")
    assert not pop.is_visible()
    page.hover(f"#s{seg['index']}", position={"x": 5, "y": 5})
    assert pop.is_visible() and pop.locator("del").inner_text().strip() == "the"
    assert requests == [html.as_uri()]
    page.close()

    page, _ = _open(browser, reports / "articles" / "05-kim-putin-fused.html")
    record = json.loads((reports / "articles" / "05-kim-putin-fused.json").read_text(encoding="utf-8"))
    shown = page.evaluate(READ_FIXES)
    fused = next(f for s in record["segments"] for f in s["findings"] if f["code"] == "fused-sentence")
    top = fused["suggestions"][0]["replacement"]
    assert any(top in f["after"] for f in shown if f["inPop"] and f["inserted"])
    assert any(f["inSide"] for f in shown)
    names = [f for f in shown if not f["inPop"] and not f["inSide"]]  # the article finding's repair, in the header
    assert names and "Kim Jong-un extended" in names[0]["after"] and names[0]["visible"]
    page.close()


def test_index_sorts_and_filters(browser, reports: Path, tmp_path: Path) -> None:
    page, requests = _open(browser, reports / "index.html")
    assert requests == [(reports / "index.html").as_uri()]
    scores = "() => [...document.querySelectorAll('#articles tbody tr')].map(r => Number(r.cells[2].dataset.v))"
    start = page.evaluate(scores)
    assert len(start) == 9 and start == sorted(start, reverse=True)  # worst first, as written

    score_head = page.locator("#articles th", has_text="score")
    score_head.locator("button").click()
    assert page.evaluate(scores) == sorted(start) and score_head.get_attribute("aria-sort") == "ascending"
    score_head.locator("button").focus()
    page.keyboard.press("Enter")  # keyboard operable: the header is a button
    assert page.evaluate(scores) == sorted(start, reverse=True)
    assert score_head.get_attribute("aria-sort") == "descending"

    title_head = page.locator("#articles th", has_text="title")
    title_head.locator("button").click()
    titles = page.evaluate("() => [...document.querySelectorAll('#articles tbody tr')].map(r => r.cells[0].innerText)")
    assert titles == sorted(titles, key=str.lower) and score_head.get_attribute("aria-sort") == "none"

    visible = (
        "() => [...document.querySelectorAll('#articles tbody tr')].filter(r => !r.hidden).map(r => r.dataset.verdict)"
    )
    page.select_option("#verdict-filter", "fail")
    shown = page.evaluate(visible)
    assert shown and set(shown) == {"fail"} and len(shown) < 9
    page.fill("#text-filter", "kim vows")
    assert page.evaluate(visible) == ["fail"]
    assert page.inner_text("#shown") == "1 of 9 articles shown"
    page.select_option("#verdict-filter", "")
    page.fill("#text-filter", "")
    assert len(page.evaluate(visible)) == 9

    bars = page.locator("#sentence-histogram rect.bar")
    assert bars.count() == 20 and page.locator("#rules tbody tr").count() >= 5
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert (tmp_path / "index.png").read_bytes().startswith(b"\x89PNG")
