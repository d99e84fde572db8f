"""Boilerplate line patterns: they catch scraping debris and leave news prose alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtqa.boilerplate import PATTERNS, match_boilerplate, parse_patterns

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

BOILERPLATE_LINES = [
    "Home » World » Asia",
    "Home > News > Business",
    "Home / World",
    "You are here: Home / Politics",
    "News » China » Society",
    "by admin",
    "By Staff Writer",
    "By Staff Writer | Published 12 March 2024",
    "By Xinhua | 2023-11-06",
    "By Jane Doe and Li Wei, March 3, 2024",
    "Posted by admin on March 3, 2024",
    "Posted on Dec. 4, 2023 by Asia Desk",
    "Published: 12/03/2024",
    "Updated: Tuesday, 5 March 2024 14:07 GMT",
    "March 14, 2024",
    "Monday, 4 December 2023",
    "2022-04-18 10:32",
    "August 05, 2019 7:48 AM GMT+7",
    "3 hours ago",
    "5 min read",
    "Source: Xinhua",
    "Editor: Zhang Wei",
    "See also Seoul summons Russian ambassador over military cooperation",
    "See also: Won slides to two-week low",
    "Read more: Antarctic sea ice hits record low",
    "Read More »",
    "Related: Zambia reopens border crossing after floods",
    "Related posts:",
    "Related Articles",
    "You may also like",
    "You might also be interested in:",
    "Most Read",
    "Leave a Comment",
    "Leave a Reply",
    "Leave a Reply Cancel reply",
    "Cancel reply",
    "Comments",
    "2 Comments",
    "Comments are closed.",
    "Your email address will not be published. Required fields are marked *",
    "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    "This website uses cookies to improve your experience. We'll assume you're ok with this, but you can "
    "opt-out if you wish. Accept Read More",
    "We use cookies on our website to give you the most relevant experience by remembering your preferences.",
    "Privacy & Cookies: This site uses cookies. By continuing to use this website, you agree to their use.",
    "By continuing to use this site, you agree to our use of cookies.",
    "Accept",
    "Reject",
    "Read More",
    "Accept Read More",
    "Accept All Reject All Cookie settings",
    "Cookie settings",
    "Privacy & Cookies Policy",
    "Privacy Overview",
    "Privacy Policy",
    "About Us | Contact Us | Privacy Policy | Terms of Use",
    "Share this:",
    "Share",
    "Share on Facebook",
    "Share this: Facebook Twitter WhatsApp",
    "Share this article",
    "Click to share on Twitter (Opens in new window)",
    "Click to share on Facebook (Opens in new window) Click to share on WhatsApp (Opens in new window)",
    "Facebook Twitter WhatsApp Telegram",
    "Facebook | Twitter | LinkedIn | Email",
    "Subscribe to our newsletter",
    "Sign up for our daily newsletter",
    "Follow us on Telegram",
    "© 2024 Example News. All rights reserved.",
    "Copyright © 2023 Example News Network. All rights reserved.",
    "Copyright 2024 Example Media Group",
    "Example News. All rights reserved.",
    "Tags: China, Russia, diplomacy",
    "Tagged: Laos, railway",
    "Filed under: World",
    "Posted in World, Asia | Tagged China, Russia",
    "Advertisement",
    "- Advertisement -",
    "Story continues below advertisement",
    "Previous article",
    "Next article",
    "Next article: Kim vows to deepen ties with Moscow",
    "« Previous Post",
    "Skip to content",
    'Press "Enter" to skip to content',
    "[ad_1]",
    '[caption id="attachment_12" align="alignnone"]',
    "https://example.com/images/2024/05/flood-photo-123.jpg",
    "Anonymous said...",
    "Sam P said...",
    "2 comments:",
    "Read alsoFloods close three border crossings",
    "The English and French versions are generated automatically by AI, so they may still contain inaccuracies.",
    "This text was machine translated from Korean; please refer to the original text.",
]

PROSE_LINES = [
    "The new privacy law requires websites to ask before setting cookies, the regulator said.",
    "By the end of the year, exports rose 5 percent.",
    "By 2030, the country aims to generate half its power from renewables.",
    "See the full statement below.",
    "Seeing the damage, residents began to leave.",
    "Share prices fell 3.5 percent in early trading in Seoul.",
    "Shareholders will vote on the merger on Jan. 15.",
    "Copyright lawsuits against AI companies have multiplied since 2022, lawyers say.",
    "Related charges were filed against two former executives in Shenzhen.",
    "Price tags on imported cars rose 12 percent last year.",
    "Tagged as a high-risk area, the district was sealed off on Monday.",
    "Privacy campaigners said the cookie rules did not go far enough.",
    "This website's owner, a former journalist, said she had received threats.",
    "Cookies and biscuits made up a growing share of exports to the U.S., the ministry said.",
    "Published in Nature on Wednesday, the study followed 2,000 patients for a decade.",
    "Posted in 2019, the video was viewed more than 3 million times.",
    "Comments by the minister drew sharp criticism from Pyongyang.",
    "More than 30,000 residents were evacuated from Zhuozhou, officials said.",
    "Read the full report on the ministry's website, officials urged.",
    "Next year the bank expects growth of 2.1 percent.",
    "Home prices in Gangnam rose for the fifth month in a row.",
    "Accepting the award, Dr. Liu thanked her colleagues in Xi'an.",
    "Follow-up talks are scheduled for Jan. 31 in Pyongyang.",
    "Subscribers to the service will pay 10 percent more from April.",
    "The advertisement, which ran in 14 newspapers, was later withdrawn.",
    "Source code for the app was published on GitHub, the company said.",
    "Kim vows to 'hand in hand' with Putin",
    "Bank of Korea holds rates at 3.5 percent for ninth straight meeting",
    "Leaving a comment on the proposal, the governor said no decision had been made.",
    "We use cookies sparingly, the company's spokesman said in a statement on Tuesday.",
    "The minister said...",
    "[The minister] rejected the claim, the agency said.",
    "Read also the full text of the agreement, which was published on Monday.",
    "Researchers found that machine-translated news contains many errors.",
    "Google said its new machine translation system makes fewer errors than the old one.",
    "Users of the app can have their messages translated automatically into 40 languages.",
]


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_each_example_is_named_by_its_own_row(pattern):
    assert match_boilerplate(pattern.example) == pattern.name


@pytest.mark.parametrize("line", BOILERPLATE_LINES)
def test_boilerplate_lines_match(line):
    assert match_boilerplate(line) is not None
    assert match_boilerplate(f"  {line}\n") is not None  # surrounding whitespace is ignored


@pytest.mark.parametrize("line", PROSE_LINES)
def test_news_prose_does_not_match(line):
    assert match_boilerplate(line) is None


def test_blank_line_is_not_boilerplate():
    assert match_boilerplate("   ") is None


def test_long_prose_after_a_button_word_is_not_boilerplate():
    prose = (
        "Accept that the economy is slowing, the governor said, and the board will have to weigh "
        "household debt, housing prices in Seoul and weaker demand for memory chips from China "
        "against inflation that is still above its 2 percent target for the third year in a row."
    )
    assert len(prose) > 200
    assert match_boilerplate(prose) is None
    assert match_boilerplate("Share this: " + prose) is None


def test_bad_rows_are_reported_with_their_line_number():
    with pytest.raises(ValueError, match=":3: expected 3"):
        parse_patterns("name\tregex\texample\n# comment\nonly\ttwo\n")
    with pytest.raises(ValueError, match="bad regex"):
        parse_patterns("name\tregex\texample\nbroken\t(unclosed\tx\n")


# --- bundled samples ------------------------------------------------------------------------------------

#: Headline of each sample, keyed by the file name's two-digit prefix.
HEADLINES = {
    "01": "Bank of Korea holds rates at 3.5 percent for ninth straight meeting",
    "02": "Congo's Matadi port clears backlog as Banana deep-water terminal takes shape",
    "03": "Lake sediments near Zhangjiakou show monsoon collapsed within a decade, study finds",
    "04": "Shanghai steps up New Coronavirus Pneumonia prevention and control work in communities",
    "05": "Kim vows to 'hand in hand' with Putin",
    "06": "China International Import Expo opens in Shanghai with record 3,400 exhibitors",
    "07": "Heavy rains cause floods in Zhuozhou, tens of thousands evacuated",
    "08": "China-Laos Railway marks two years with 24 million passenger trips",
}
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.txt"))


def _readme_rows() -> dict[str, dict[str, str]]:
    """README lines ``- file | kind | boilerplate: ... | damage: ... | notes: ...`` keyed by file name."""
    rows = {}
    for line in (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("- ") and ".txt | " in line:
            name, kind, *fields = line[2:].split(" | ")
            rows[name] = {"kind": kind} | dict(f.split(": ", 1) for f in fields)
    return rows


def _line_numbers(spec: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", spec)}


def _damage(spec: str) -> dict[str, set[int]]:
    return {} if spec == "none" else {t: _line_numbers(ls) for t, ls in (w.split(":") for w in spec.split())}


def test_readme_describes_every_sample():
    assert sorted(_readme_rows()) == SAMPLE_NAMES
    assert [n[:2] for n in SAMPLE_NAMES] == sorted(HEADLINES)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_boilerplate_and_title(name):
    text = (SAMPLES / name).read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert 12 <= len(lines) <= 30
    row = _readme_rows()[name]
    matched = {i for i, line in enumerate(lines, start=1) if match_boilerplate(line)}
    assert matched == _line_numbers(row["boilerplate"])
    title = next(line for line in lines if line.strip() and not match_boilerplate(line))
    assert title == HEADLINES[name[:2]]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_damage_is_on_article_lines(name):
    row = _readme_rows()[name]
    damage = _damage(row["damage"])
    assert bool(damage) == (row["kind"] == "mt")
    lines = (SAMPLES / name).read_text(encoding="utf-8").splitlines()
    for tag, numbers in damage.items():
        for n in numbers:
            assert 1 <= n <= len(lines), (tag, n)
            assert match_boilerplate(lines[n - 1]) is None, (tag, n)
