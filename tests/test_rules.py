"""Tests of the deterministic MT-damage rules: exact spans on damaged text, silence on fluent news."""

from __future__ import annotations

import re

import pytest

from mtqa import rules
from mtqa.rules import SentenceContext
from mtqa.types import Finding

MISSION_FRAGMENT = (
    "adding that \"in order to safeguard Russia's sovereign rights and development The people of your "
    "country express their full support and solidarity to the people of your country who are united in the "
    'sacred cause of defending the motherland"'
)

# 70 words, four commas and a dash: long but punctuated like edited prose.
LONG_FLUENT = (
    "The central bank said it would keep policy steady, while the finance ministry promised more support "
    "for small businesses, exporters and households, and officials in several provinces, including "
    "Guangdong and Zhejiang, announced measures to stabilise employment, cut fees and speed up approvals "
    "for infrastructure projects that had been delayed during the pandemic — steps that economists "
    "said would help the economy meet the growth target set by the government in March."
)

# Fluent, professionally edited news sentences: no rule may fire on any of them.
FLUENT = [
    "Kwon Jong-keun, a professor at Seoul National University, said the talks had stalled.",
    "The United Nations Security Council met on Tuesday to discuss the situation in Gaza.",
    "President Xi Jinping said China would further open its markets to foreign investors.",
    "U.S. Secretary of State Antony Blinken arrived in Beijing on Sunday for two days of talks.",
    "Apple sold more iPhone models in China last quarter than a year earlier.",
    "McDonald's said it would open 500 new restaurants in the country by 2025.",
    "The economy grew 3.5 percent in the third quarter, faster than analysts had expected.",
    "More than 1,000 new COVID-19 cases were reported in Shanghai on Monday.",
    "The Belt and Road Initiative has funded ports, railways and power plants across Asia and Africa.",
    "Kim Jong Un oversaw the test launch, state media KCNA reported.",
    "In March, the central bank cut its benchmark lending rate by 25 basis points.",
    "Foreign Ministry spokesperson Wang Wenbin told a news briefing that Beijing opposed the sanctions.",
    "He said he had had enough of the delays.",
    "Analysts said that that decision could weigh on growth in the second half.",
    "Tsai Ing-wen won re-election in January 2020 by a landslide.",
    "Exports rose 7.1 percent year on year in May, customs data showed.",
    "The Hague-based court is expected to rule next month.",
    "The minister told The New York Times that the plan would be revised.",
    "Officials said the floods had displaced more than 10,000 residents (about 3,000 households).",
    "China's Vice Premier He Lifeng met U.S. Treasury Secretary Janet Yellen in Stockholm.",
    "Users can pay with WeChat Pay or Alipay at most shops in the city.",
    "YouTube and TikTok have both removed the videos, the companies said.",
    "JinkoSolar shipped 78 gigawatts of solar modules last year, according to its annual report.",
    "eBay shares rose 2 percent in early trading.",
    "Temperatures are expected to reach 40 degrees Celsius (104 degrees Fahrenheit) by Friday.",
    "The report, released by the World Health Organization, said the risk to the public remained low.",
    "Lee Jae-myung, the opposition leader, said he would appeal the ruling.",
    "The two leaders walked hand in hand through the garden of the state guesthouse.",
    "Mr. Blinken said the United States would continue to support its allies in the region.",
    '"Our country will never accept this," the ambassador said.',
    "\u201cYour country has our full support,\u201d the envoy told his Russian counterpart.",
    "Pianist Lang Lang will perform at the opening concert on Friday.",
    "Prices for housing and health care have risen faster than wages over the past decade.",
    "The company, which is based in Shenzhen, employs about 20,000 people.",
    "Trade between the two countries reached $690 billion last year, up 8.5 percent from 2021.",
    LONG_FLUENT,
    "The ministry said the vaccine, developed by Sinovac, was 78 percent effective (in a trial of 12,000 "
    "people) and that it would be shipped to Brazil, Turkey and Indonesia.",
    "A spokesman for Alibaba declined to comment.",
]


def run(text: str, spans: list[tuple[int, int]] | None = None, paragraph_of=None) -> list[Finding]:
    """All sentence findings for ``text`` (one sentence unless spans are given), flattened."""
    spans = spans or [(0, len(text))]
    per_sentence = rules.apply_sentence_rules(text, spans, paragraph_of)
    for (s, e), found in zip(spans, per_sentence, strict=True):
        for f in found:
            assert s <= f.start < f.end <= e, f
    return [f for found in per_sentence for f in found]


def hits(text: str, code: str, **kw) -> list[str]:
    """The text of each finding of one rule."""
    return [text[f.start : f.end] for f in run(text, **kw) if f.code == code]


def codes(text: str, **kw) -> set[str]:
    return {f.code for f in run(text, **kw)}


# ------------------------------------------------------------------------------------------- interface


def test_registry_codes_are_unique_and_well_formed():
    all_rules = [*rules.SENTENCE_RULES, *rules.ARTICLE_RULES, *rules.TITLE_RULES]
    codes_ = [r.code for r in all_rules]
    assert len(codes_) == len(set(codes_)) == 18
    for r in all_rules:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.code)
        assert r.severity in ("minor", "major")
        assert r.message and "\n" not in r.message
        assert r.version


def test_signature_names_every_rule_data_hash_and_tagger(monkeypatch):
    sig = rules.signature()
    assert sig.startswith("rules:fused-sentence@2,repeated-phrase@3,repetition-loop@2,")
    assert "missing-verb@1" in sig and "non-word@1" in sig and "headline-damage@2" in sig
    assert re.search(r"\|data:[0-9a-f]{8}\|tagger:textblob-aptagger@0\.2\.0$", sig)
    # a rule whose version changes changes the signature
    monkeypatch.setattr(rules.NonWord, "version", "99")
    assert rules.signature() != sig and "non-word@99" in rules.signature()


def test_data_is_packaged():
    from importlib.resources import files

    assert (files("mtqa.data") / "rules" / "calques.tsv").is_file()
    assert len(rules.CALQUES) >= 20
    assert all(c.source for c in rules.CALQUES)
    assert rules.RUN_ON_MIN_WORDS > 0 and 0 < rules.RUN_ON_MAX_BREAKS_PER_WORD < 1


@pytest.mark.parametrize("sentence", FLUENT)
def test_no_rule_fires_on_fluent_news(sentence):
    assert run(sentence) == []


def test_fluent_article_has_no_findings():
    text = (
        "Kim Jong Un oversees missile test, state media says\n"
        "North Korean leader Kim Jong Un watched the launch on Thursday, KCNA said. "
        "\u201cThe test was a success. We will continue to strengthen our deterrent,\u201d Kim was quoted as "
        "saying.\n"
        "South Korea's Joint Chiefs of Staff said the missile flew about 1,000 km. Kim Jong Un has "
        "overseen more than a dozen launches this year."
    )
    title = (0, text.index("\n"))
    body_start = title[1] + 1
    sentences = [
        (m.start() + body_start, m.end() + body_start)
        for m in re.finditer(r"[^.\n]+?(?:\.(?:\u201d)?|$)", text[body_start:])
        if m.group().strip()
    ]
    sentences = [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in sentences]
    assert run(text, spans=sentences) == []
    assert rules.apply_article_rules(text, title, sentences) == []


def test_mission_sentence():
    text = "The spokesman read out a statement, " + MISSION_FRAGMENT
    start = len("The spokesman read out a statement, ")
    found = rules.apply_sentence_rules(text, [(start, len(text))], [(0, len(text))])[0]
    by_code = {f.code: text[f.start : f.end] for f in found}
    assert by_code["fused-sentence"] == "development The"
    assert by_code["repeated-phrase"] == "the people of your country"
    assert "addressee-leak" not in by_code  # inside the quotation
    assert "lowercase-start" not in by_code  # follows a comma: the segmenter split inside a sentence
    assert set(by_code) == {"fused-sentence", "repeated-phrase"}


def test_mission_fragment_alone():
    assert hits(MISSION_FRAGMENT, "fused-sentence") == ["development The"]
    assert hits(MISSION_FRAGMENT, "repeated-phrase") == ["the people of your country"]
    assert hits(MISSION_FRAGMENT, "addressee-leak") == []


def test_rule_find_takes_a_context_directly():
    text = "Intro. They agreed He said the deal was done."
    ctx = SentenceContext(text, 7, len(text))
    assert [text[f.start : f.end] for f in rules.FusedSentence().find(ctx)] == ["agreed He"]


def test_paragraph_of_must_match_spans():
    with pytest.raises(ValueError):
        rules.apply_sentence_rules("A b c.", [(0, 6)], [])


# -------------------------------------------------------------------------------------- fused-sentence


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("The two sides agreed He said the talks would resume next week.", "agreed He"),
        ("China will push ahead with reform This is the key to growth, officials said.", "reform This"),
        ("The factory resumed production However the workers were not paid.", "production However"),
    ],
)
def test_fused_sentence_positive(sentence, span):
    assert hits(sentence, "fused-sentence") == [span]


@pytest.mark.parametrize(
    "sentence",
    [
        "She spoke to reporters at the United Nations in New York.",
        "The minister said Kim had agreed to meet in March.",
        "The newspaper The Paper reported the story first.",
        'He said: "The people have spoken."',
        "I said I would go, and I did.",
        "Officials praised the Belt and Road Initiative at the forum.",
        "The ministry told The Washington Post that the figures were wrong.",
    ],
)
def test_fused_sentence_negative(sentence):
    assert hits(sentence, "fused-sentence") == []


# ------------------------------------------------------------------------------------ repeated-phrase


def test_repeated_phrase_positive():
    s = "The government will support the local farmers and the government will support the local farmers."
    # the longest repeat is reported once, at its second occurrence
    assert hits(s, "repeated-phrase") == ["the government will support the local farmers"]
    s2 = "Officials said the new railway line would open soon, adding that the new railway line was safe."
    assert hits(s2, "repeated-phrase") == ["the new railway line"]
    # occurrences may touch, but not overlap
    s3 = "Departments should do a good job in flood control and rescue, flood control and rescue work."
    assert hits(s3, "repeated-phrase") == ["flood control and rescue"]


@pytest.mark.parametrize(
    "sentence",
    [
        # only stopwords / filler repeat
        "Exports rose 5 percent from a year earlier and imports fell 3 percent from a year earlier.",
        "It was one of the best and one of the worst days of the year.",
        # a repeated name is normal
        "Trade between the United States and China rose even as the United States imposed new tariffs.",
        # overlapping occurrences are not a repeat
        "The fund invests in the the the region.",
    ],
)
def test_repeated_phrase_negative(sentence):
    assert hits(sentence, "repeated-phrase") == []


# ---------------------------------------------------------------------------------------- doubled-word


def test_doubled_word_positive():
    assert hits("The minister said he wanted to to visit the region.", "doubled-word") == ["to to"]
    assert hits("The The government said it would act.", "doubled-word") == ["The The"]
    assert hits("He rejected the the proposal.", "doubled-word") == ["the the"]
    s = "Reservoirs remained close to capacity, capacity and more rain was forecast."
    assert hits(s, "doubled-word") == ["capacity, capacity"]


def test_doubled_word_reduplication():
    s = "The achievements must be consolidated and consolidated, officials said."
    assert hits(s, "doubled-word") == ["consolidated and consolidated"]
    s2 = "We must adhere to the policy unswervingly and unswervingly."
    assert hits(s2, "doubled-word") == ["unswervingly and unswervingly"]


@pytest.mark.parametrize(
    "sentence",
    [
        "He had had no contact with the family.",
        "She said that that was not the case.",
        "They flew to Bora Bora for the summit.",
        "The theme of the event was the thermal power plant.",
        '"It is very, very important," she said.',
        '"No, no, we never agreed to that," he said.',
        "The families waited and waited for news of the miners.",
        "“We negotiated and negotiated for months,” the envoy said.",
        "Prices rose higher and higher as supplies ran out.",
        "Wang, Li and Zhang were elected to the committee.",
    ],
)
def test_doubled_word_negative(sentence):
    assert hits(sentence, "doubled-word") == []


# ------------------------------------------------------------------------------------- lowercase-start


def test_lowercase_start_positive():
    assert hits("the government said it would act.", "lowercase-start") == ["the"]
    text = "The talks ended. meanwhile the strike continued."
    assert hits(text, "lowercase-start", spans=[(0, 16), (17, len(text))]) == ["meanwhile"]
    assert hits('"we will win," he said.', "lowercase-start") == ["we"]


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("iPhone sales rose 5 percent.", 0),
        ("eBay shares fell.", 0),
        ("He paused... and then he continued.", 12),
        ("Officials met the U.S. delegation.", 0),
        ("de Blasio said the city was ready.", 0),
        ("The plan was approved by the U.S. cabinet on Monday.", 0),
        ("The officials said, however that the matter was closed.", 20),
        ("Prices rose in the U.S. economy this year.", 24),
    ],
)
def test_lowercase_start_negative(text, start):
    assert hits(text, "lowercase-start", spans=[(start, len(text))]) == []


# -------------------------------------------------------------------------------- unbalanced-quotes


def test_unbalanced_quotes_positive():
    text2 = "The minister said the plan would fail.\u201d"
    assert hits(text2, "unbalanced-quotes") == ["\u201d"]
    # two quotations opened and none closed: the first opening mark is the orphan
    text = "He called it \u201ca plan that will \u201cfail badly and left the room."
    assert [f.start for f in run(text) if f.code == "unbalanced-quotes"] == [text.index("\u201c")]


def test_unbalanced_quotes_leaves_a_quotation_open_at_the_paragraph_end():
    # a quotation of several sentences whose closing mark is lost or sits in a later paragraph
    text = "\u201cIt is like a hobby to me. People ask why I do it for free. I have time."
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S[^.]*\.", text)]
    assert len(spans) == 3
    assert codes(text, spans=spans, paragraph_of=[(0, len(text))] * 3) == set()
    assert hits('He said "the plan will fail and left the room.', "unbalanced-quotes") == []


def test_unbalanced_quotes_negative():
    # a quotation opens in one sentence and closes in the next sentence of the same paragraph
    text = "\u201cThe economy is recovering. But the risks remain high,\u201d the minister said."
    spans = [(0, 27), (28, len(text))]
    assert codes(text, spans=spans, paragraph_of=[(0, len(text))] * 2) == set()
    # the same without paragraph_of: the paragraph is the line
    assert codes(text, spans=spans) == set()
    # news style: a quote continues into the next paragraph, which reopens it
    text2 = '"We will rebuild the city.\n"It will take years," the mayor said.'
    spans2 = [(0, 26), (27, len(text2))]
    assert codes(text2, spans=spans2, paragraph_of=[(0, 26), (27, len(text2))]) == set()


def test_quote_flags_of_a_sentence_cover_its_quotation():
    text = 'He said "yes" twice.'
    mask = rules.SentenceContext(text, 0, len(text)).quote_flags()
    inside = "".join(c for c, m in zip(text, mask, strict=True) if m)
    assert inside == '"yes"'
    assert rules.SentenceContext("\u201cA. B.\u201d C.", 0, 10).quote_flags() == [True] * 7 + [False] * 3


# ------------------------------------------------------------------------------ unbalanced-brackets


def test_unbalanced_brackets_positive():
    assert hits("The company (based in Hangzhou said profits rose.", "unbalanced-brackets") == ["("]
    assert hits("Profits rose 5 percent] in the quarter.", "unbalanced-brackets") == ["]"]


def test_unbalanced_brackets_negative():
    assert hits("The company (based in Hangzhou) said profits rose [sharply].", "unbalanced-brackets") == []
    assert hits("The plan has two parts: 1) cut costs and 2) raise prices.", "unbalanced-brackets") == []
    # a parenthesis holding two sentences
    text = "(The ministry declined to comment. It did not say why.)"
    assert codes(text, spans=[(0, 34), (35, len(text))]) == set()


# ------------------------------------------------------------------------------------- untranslated


def test_untranslated_positive():
    assert hits("The meeting was held in 北京 on Monday.", "untranslated") == ["北京"]
    assert hits("He said the plan was good\uff0cadding more details later.", "untranslated") == ["\uff0c"]
    assert hits("The slogan was Слава России at the rally.", "untranslated") == ["Слава России"]
    assert hits("Officials attended the 人民代表大会。", "untranslated") == ["人民代表大会。"]


def test_untranslated_negative():
    assert hits("\u201cWe are ready,\u201d she said \u2014 and left.", "untranslated") == []
    assert hits("The concept of guanxi (关系) shapes business in China.", "untranslated") == []
    assert hits("The alpha (α) variant spread quickly.", "untranslated") == []


# ------------------------------------------------------------------------------------------- run-on


def test_run_on_positive():
    clause = "the delegation visited the factory and met the workers who were building new cars"
    s = " ".join([clause] * 5) + "."
    assert hits(s, "run-on") == [s]
    s2 = "Officials said that " + " ".join(f"word{i}" for i in range(70)) + ", and left."
    assert hits(s2, "run-on") == [s2]


def test_run_on_negative():
    assert len(LONG_FLUENT.split()) >= rules.RUN_ON_MIN_WORDS
    assert hits(LONG_FLUENT, "run-on") == []  # long but punctuated
    assert hits("A short sentence without commas is fine.", "run-on") == []


# ------------------------------------------------------------------------------------------ mojibake


def test_mojibake_positive():
    assert hits("The cafÃ© in Paris reopened.", "mojibake") == ["Ã©"]
    assert hits("It\u00e2\u20ac\u2122s a new era, he said.", "mojibake") == ["\u00e2\u20ac\u2122"]
    assert hits("The price was \u00c2 100 yuan.", "mojibake") == ["\u00c2"]
    assert hits("The caf\\u00e9 reopened.", "mojibake") == ["\\u00e9"]
    assert hits("The result was \ufffd unclear.", "mojibake") == ["\ufffd"]


def test_mojibake_negative():
    assert hits("The café in São Paulo reopened after the Åland talks.", "mojibake") == []
    assert hits("Ângela Merkel's successor was named.", "mojibake") == []


# -------------------------------------------------------------------------------------- stray-entity


def test_stray_entity_positive():
    assert hits("Johnson &amp; Johnson said the vaccine was safe.", "stray-entity") == ["&amp;"]
    assert hits("It&#8217;s time to act, she said.", "stray-entity") == ["&#8217;"]
    assert hits("The term &quot;win&quot; was used.", "stray-entity") == ["&quot;", "&quot;"]
    assert hits("Prices&nbsp;rose.", "stray-entity") == ["&nbsp;"]


def test_stray_entity_negative():
    assert hits("AT&T and S&P 500 companies reported earnings.", "stray-entity") == []
    assert hits("R&D spending rose; M&A activity fell.", "stray-entity") == []


# --------------------------------------------------------------------------------------- glued-words


def test_glued_words_positive():
    assert hits("The officials met theGovernment delegation.", "glued-words") == ["theGovernment"]
    assert hits("The minister saidMonday that talks would resume.", "glued-words") == ["saidMonday"]
    assert hits("The factory is in ChinaThe workers were paid.", "glued-words") == ["ChinaThe"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Users posted videos on YouTube, TikTok and WeChat.",
        "PayPal and JinkoSolar shares rose, while McDonald's fell.",
        "Follow @realDonaldTrump or visit www.chinaDaily.com.cn for updates.",
        "The airline easyJet and MacBook sales both recovered.",
    ],
)
def test_glued_words_negative(sentence):
    assert hits(sentence, "glued-words") == []


# ------------------------------------------------------------------------------------ addressee-leak


def test_addressee_leak_positive():
    s = "Xi said in the message that China supports your country in safeguarding its sovereignty."
    assert hits(s, "addressee-leak") == ["your country"]
    s2 = "The envoy thanked you all for the warm welcome and praised your government."
    assert hits(s2, "addressee-leak") == ["you all", "your government"]


def test_addressee_leak_negative():
    assert hits('He told the visitors: "Your country is always welcome here."', "addressee-leak") == []
    # a quotation that opened in an earlier sentence of the paragraph
    text = "\u201cWe thank you. Your people are our friends,\u201d Xi said."
    assert codes(text, spans=[(0, 14), (15, len(text))], paragraph_of=[(0, len(text))] * 2) == set()


# ------------------------------------------------------------------------------------------- calque


def test_calque_positive():
    s = "China is willing to further deepen win-win cooperation with the broad masses of Africa."
    assert hits(s, "calque") == ["further deepen", "win-win cooperation", "the broad masses"]
    s2 = "The New Coronavirus Pneumonia outbreak led Xi to give an important speech."
    assert hits(s2, "calque") == ["New Coronavirus Pneumonia", "important speech"]
    f = next(f for f in run(s2) if f.code == "calque")
    assert "COVID-19" in f.message


def test_calque_negative():
    assert hits("The couple walked hand in hand along the river.", "calque") == []
    assert hits("Security and prosperity go hand in hand, he said.", "calque") == []
    assert hits("The furthest deepening of the canal was approved.", "calque") == []


# -------------------------------------------------------------------------------- inconsistent-name


def _article(title: str, body: list[str]) -> tuple[str, tuple[int, int], list[tuple[int, int]]]:
    text = title + "\n" + " ".join(body)
    spans, pos = [], len(title) + 1
    for s in body:
        spans.append((pos, pos + len(s)))
        pos += len(s) + 1
    return text, (0, len(title)), spans


def test_inconsistent_name_positive():
    text, title, spans = _article(
        "North Korea fires missile",
        [
            "Kim Jong-un watched the launch.",
            "Officials said Kim Jong Un was pleased.",
            "President Xi Jinping called for calm.",
            "Xi Jin-ping spoke by phone.",
        ],
    )
    found = rules.apply_article_rules(text, title, spans)
    messages = [f.message for f in found if f.code == "inconsistent-name"]
    assert len(messages) == 2
    assert "'Kim Jong-un' and 'Kim Jong Un'" in messages[0] + messages[1]
    assert "'Xi Jinping' and 'Xi Jin-ping'" in messages[0] + messages[1]
    text, title, spans = _article("Taiwan votes", ["Tsai Ing-wen won.", "Tsai Ingwen thanked voters."])
    assert [f.code for f in rules.apply_article_rules(text, title, spans)] == ["inconsistent-name"]


def test_inconsistent_name_near_miss():
    text, title, spans = _article(
        "Railway turns two",
        ["Minister Viengsavanh Phommachanh spoke at the station.", "Vieng Savanh Phommachan said Laos won."],
    )
    found = rules.apply_article_rules(text, title, spans)
    assert [f.message for f in found] == [
        "Name spelled in different ways: 'Viengsavanh Phommachanh' and 'Vieng Savanh Phommachan'"
    ]


def test_inconsistent_name_negative():
    text, title, spans = _article(
        "Kim Jong-Un Oversees Launch",  # title case capitalises after the hyphen: not an inconsistency
        ["Kim Jong-un watched the launch.", "The United Nations condemned it.", "The United Nations met."],
    )
    assert rules.apply_article_rules(text, title, spans) == []
    body = ["Kwon Jong-keun spoke.", "Kwon Jong-keun left.", "Lee Jae-myung met."]
    text, title, spans = _article("Talks", body)
    assert rules.apply_article_rules(text, title, spans) == []
    # different people, and a demonym next to the country name, are not misspellings
    text, title, spans = _article(
        "Seoul summit",
        [
            "Kim Jong Un is the son of Kim Jong Il.",
            "South Korean President Yoon spoke.",
            "The South Korea President Yoon visit ended.",
        ],
    )
    assert rules.apply_article_rules(text, title, spans) == []


# ---------------------------------------------------------------------------------- headline-damage


@pytest.mark.parametrize(
    "title",
    [
        "Xi vows to 'hand in hand' with Putin",
        'Xi vows to "hand in hand" with Putin for a new era',
        "China and Russia will shoulder to shoulder against hegemony",
        "China reform This is the key",
        "Xi meets 普京 in Moscow",
        "China and Russia sign deal on the",
    ],
)
def test_headline_damage_positive(title):
    text = title + "\nThe leaders met on Tuesday."
    found = rules.apply_title_rules(text, (0, len(title)))
    assert [f.code for f in found] == ["headline-damage"]
    assert found[0].severity == "major" and 0 <= found[0].start < found[0].end <= len(title)


@pytest.mark.parametrize(
    "title",
    [
        "Xi and Putin walk hand in hand at Kremlin",
        'Trump vows to "totally destroy" North Korea',
        "Vitamin A deficiency rises in rural areas",
        "What to make of China's new five-year plan",
        "Russia, China go hand in hand on trade, says Lavrov",
        "Team heads to back to back finals",
    ],
)
def test_headline_damage_negative(title):
    text = title + "\nThe leaders met on Tuesday."
    assert rules.apply_title_rules(text, (0, len(title))) == []


def test_headline_damage_points_at_the_damage_when_it_can():
    title = "China reform This is the key"
    [found] = rules.apply_title_rules(title, (0, len(title)))
    assert title[found.start : found.end] == "reform This"


# ------------------------------------------------------------------------------------ repetition-loop
def test_repetition_loop_fires_on_three_or_more_copies():
    s = (
        "The two remaining products are the only one of the Chinese bank's financial products, the Chinese "
        "bank's financial products, the Chinese bank's financial products, the Chinese bank's financial products."
    )
    spans = hits(s, "repetition-loop")
    assert len(spans) == 1 and "Chinese bank's financial products, the Chinese bank's" in spans[0]
    assert spans[0].endswith("financial products")


def test_repetition_loop_ignores_two_copies_and_filler():
    assert hits("The people of your country support the people of your country in the cause.", "repetition-loop") == []
    assert (
        hits(
            "Exports rose 3 percent of the total, 4 percent of the total in May and 5 percent of the total in June.",
            "repetition-loop",
        )
        == []
    )


def test_unbalanced_quotes_ignores_a_lone_quote_unit():
    assert hits("\u201d", "unbalanced-quotes") == []
    assert hits('"', "unbalanced-quotes") == []


# ------------------------------------------------- shapes seen on scraped pages (issue 17): hand-made cases


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("The flood killed 1,200 The government declared a state of emergency.", "1,200 The"),
        ("Two workers were hurt at the plant (Lyon) The police are investigating the cause.", ") The"),
        ("Nine were missing and 40 were dead A total of 3,000 homes were damaged.", "dead A"),
        (
            "Hanoi opens new metro line The city's transport department said trains would run every ten minutes.",
            "line The",
        ),
    ],
)
def test_fused_sentence_scraped_shapes(sentence, span):
    assert hits(sentence, "fused-sentence") == [span]


@pytest.mark.parametrize(
    "sentence",
    [
        "Children with vitamin A deficiency were treated at the clinic.",
        "Teams in Group A play their first matches on Friday.",
        "The company sold its class A shares to a fund.",
        "In 1969 The Beatles played their last concert on a rooftop.",
        "Officials told The Guardian that 12 The Hague-based judges had signed.",  # 'The Hague': a name
        "The vote was 7 to 2, with 12 abstentions.",
    ],
)
def test_fused_sentence_scraped_shapes_near_miss(sentence):
    assert hits(sentence, "fused-sentence") == []


def test_glued_words_missing_space_after_a_full_stop():
    assert hits("The market is booming in Busan.The problem is supply.", "glued-words") == ["Busan.The"]
    assert hits('She called it a victory."She said more would come.', "glued-words") == ['victory."She']
    assert hits("Is it time to buy now?Many analysts say no.", "glued-words") == ["now?Many"]
    assert hits("Prices rose 4 percent in 2023.The index fell.", "glued-words") == ["2023.The"]
    assert hits("The total was 12 (eight adults).,The rest were children.", "glued-words") == ["adults).,The"]
    assert hits("June 3The governor resigned on Monday.", "glued-words") == ["3The"]
    assert hits("The show aired on KBCNews at night.", "glued-words") == ["KBCNews"]
    assert hits("The rally took place in St.Petersburg.", "glued-words") == ["St.Petersburg"]


def test_glued_words_finding_stays_in_the_sentence_before_a_split_glue():
    # the segmenter split 'Busan.The': the first sentence gets the finding, on its last word
    text = "The market is booming in Busan.The problem is supply."
    cut = text.index("The problem")
    found = run(text, spans=[(0, cut), (cut, len(text))])
    assert [(f.code, text[f.start : f.end]) for f in found if f.code == "glued-words"] == [("glued-words", "Busan.")]
    assert all(f.end <= cut for f in found if f.code == "glued-words")
    # and a word glued to the next sentence's first word
    text = "The spokesman said on Monday thatReporters were not allowed in."
    cut = text.index("Reporters")
    assert hits(text, "glued-words", spans=[(0, cut), (cut, len(text))]) == ["that"]


@pytest.mark.parametrize(
    "sentence",
    [
        "The U.S. and the E.U. agreed, e.g. on tariffs, to meet again.",
        "The news site ABC.RU and the agency TASS reported it first.",
        "Details are at www.example.com and press@example.org today.",
        "Growth slowed to 3.5 percent, and JPMorgan cut its forecast.",
        "The web framework Vue.js was released in 2014.",
        "He ended the call. The minister then left.",
    ],
)
def test_glued_words_near_miss(sentence):
    assert hits(sentence, "glued-words") == []


def test_untranslated_leaves_bullets_and_non_english_lines_alone():
    assert hits("\u30fbOpening hours are from 9 am to 5 pm on weekdays.", "untranslated") == []
    assert hits("\u3007 People aged 65 and over can book from Monday.", "untranslated") == []
    # a line that is mostly Japanese: a quoted source headline, not English with words left in it
    assert (
        hits(
            "\u300c\u9996\u76f8\u306f\u6765\u9031\u30bd\u30a6\u30eb\u3092\u8a2a\u554f\u3059\u308b\u300d reports say",
            "untranslated",
        )
        == []
    )
    # words left in English prose are still found, wherever they are
    assert hits("The plan was approved by the \u4eba\u6c11\u4ee3\u8868\u5927\u4f1a on Monday.", "untranslated") == [
        "\u4eba\u6c11\u4ee3\u8868\u5927\u4f1a"
    ]


def test_lowercase_start_explained_by_layout():
    # a hard-wrapped paragraph: the line before does not end a sentence
    text = "The court fined three men for dumping sludge in\nthe waters off the coast last week."
    cut = text.index("the waters")
    assert hits(text, "lowercase-start", spans=[(0, cut - 1), (cut, len(text))]) == []
    # a sentence broken by a caption line between its halves: the text before the break does not end
    text = "Gunmen attacked two army\n\nSoldiers at a checkpoint. Photo by staff\n\nposts near the border."
    cut = text.index("posts")
    assert hits(text, "lowercase-start", spans=[(cut, len(text))]) == []
    # a list item after its colon and after a bullet
    text = "Residents must:\nstay at home after 9 pm."
    assert hits(text, "lowercase-start", spans=[(text.index("stay"), len(text))]) == []
    text = "\u2022 free parking is available at the station."
    assert hits(text, "lowercase-start") == []
    # a wholly bracketed aside such as a credit
    text = "The system went live in May. (system supplied by a local firm)"
    assert hits(text, "lowercase-start", spans=[(0, 28), (29, len(text))]) == []


def test_lowercase_start_still_fires_where_the_layout_does_not_explain_it():
    text = "The heads of five regions resigned on May 10. information agency TASS reported it."
    cut = text.index("information")
    assert hits(text, "lowercase-start", spans=[(0, cut - 1), (cut, len(text))]) == ["information"]
    # a paragraph that starts lowercase after a finished sentence
    text = "The governor resigned.\nmeanwhile the council met on Friday."
    cut = text.index("meanwhile")
    assert hits(text, "lowercase-start", spans=[(0, cut - 1), (cut, len(text))]) == ["meanwhile"]


@pytest.mark.parametrize(
    "sentence",
    [
        # a case-count list: the copies differ in the number before them
        "New cases were found today: 2 cases in North District, 3 cases in South District and 1 case in "
        "East District, 4 cases in West District.",
        # an enumeration: the copies differ in the name after them
        "Fighters of the Red Brigade, the armed wing of Party A, and of the Blue Brigade, the armed wing of "
        "Party B, joined the clashes.",
        # anaphora: each copy opens a clause
        "The nation will continue to defend its freedom, to defend its borders and to defend its people.",
        # a committee's name and the same words in lowercase
        "The Provincial Committee for Flood Prevention and Control discussed flood prevention and control work.",
        "The first car rolled off the assembly line in May 2019, and the millionth rolled off the assembly line "
        "in 47 months.",
    ],
)
def test_repetition_rules_leave_enumerations_and_rhetoric_alone(sentence):
    assert codes(sentence) & {"repeated-phrase", "repetition-loop"} == set()


def test_repetition_loop_ignores_a_list_with_a_shared_frame():
    s = (
        "Cases were reported in the city: 1 case in Jinshan District, 3 cases in Minhou County, 1 case in "
        "Gulou District, 2 cases in Cangshan District, 1 case in Mawei District and 1 case in Lianjiang County."
    )
    assert hits(s, "repetition-loop") == []
    s2 = "They praised the flood control work, the flood control work, the flood control work of the city."
    assert hits(s2, "repetition-loop") == ["the flood control work, the flood control work"]


def test_missing_verb_positive():
    s = (
        "As the world's largest maker of solar panels in the global supply chain, Chinese-made batteries and "
        "German machine tools."
    )
    assert hits(s, "missing-verb") == [s]
    s2 = "The smoke on the fire site monitors mobile laboratory of the Ministry of ecology of the region."
    assert hits(s2, "missing-verb") == [s2]


@pytest.mark.parametrize(
    "sentence",
    [
        "Save half or even more on your energy bills?",  # a rhetorical subheading
        "Xinhua News Agency, Beijing, February 11.",  # a dateline: mostly names
        "Key findings: the class you are born into matters more than in other countries.",  # a label and a list
        "1. Please obey the directions of the police at the scene.",  # a list item
        "Build high-quality wireless networks in every district of the city.",  # an imperative
        "It's like a hobby to me and to my friends.",  # a verb in a clitic
        "Chinese-made batteries and German machine tools in the new factory",  # a caption: no final full stop
        "The 300-km railway links Dali with the border town, passing through three counties.",  # tagger: NNS
    ],
)
def test_missing_verb_near_miss(sentence):
    assert hits(sentence, "missing-verb") == []


def test_pos_tags_tag_clitics_and_imperatives():
    tags = dict(rules.pos_tags("She's not going, and we can't stop her."))
    assert tags["'s"] == "VBZ" and tags["ca"] == "MD" and tags["n't"] == "RB"
    assert rules.pos_tags("Build more homes.")[0] == ("Build", "VB")


def test_non_word_positive():
    s = "Protesters sprayed zakryvayushchiy gas at the police officers, the ministry said."
    assert hits(s, "non-word") == ["zakryvayushchiy"]


@pytest.mark.parametrize(
    "sentence",
    [
        "The segmenters and the microplastics were studied by the researchers.",  # derivation, compound
        "The concept of \u201cnemawashi\u201d shapes business culture in Japan.",  # quoted on purpose
        "Residents of Qabatiya and Gangnam spoke to reporters.",  # names are capitalised
        "Prices were quoted in kwh and the pandemic was called covid by many.",
        "The mayor visited qabatiya on Friday, two days after the raid on Qabatiya.",  # a name in lowercase
    ],
)
def test_non_word_near_miss(sentence):
    assert hits(sentence, "non-word") == []


def test_addressee_leak_skips_a_salutation():
    assert hits("Your Excellency:", "addressee-leak") == []
    assert hits("Your Excellency, the talks went well and we thank your country.", "addressee-leak") == [
        "Your Excellency",
        "your country",
    ]
