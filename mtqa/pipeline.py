"""The scoring pipeline: segment -> rules -> language -> language model -> calibrate -> policy -> verdict.

Each step is a small method that does one thing and counts what it did in :class:`Stats` (the datatrove way),
so a run can say how many articles, sentences and cache hits it saw. Each stage owns its ``signature()``; the
run signature is their join (:meth:`Pipeline.signature`), so whatever changes a score or a report changes it.
The scorer is shared per process, never loaded per article, and body sentences from a chunk of articles are
scored together so batches stay full; identical sentences (syndicated copies repeat a lot) are scored once.
Executors (:mod:`mtqa.engines`) call :meth:`Pipeline.score_chunk`; this module never imports them.
"""

from __future__ import annotations

import os
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mtqa import codes, features, langid, policy, reference, repair, rules, segment
from mtqa.calibrate import Calibration, load_calibration
from mtqa.features import lm_features
from mtqa.lm import ScoreCache, Scorer, get_scorer
from mtqa.lm.passages import PASSAGES_VERSION, passages, separators
from mtqa.segment import Reading, blank_gaps, readings, segment_article, split_sentences
from mtqa.settings import Settings, cache_folder
from mtqa.text import squash
from mtqa.types import Article, ArticleFinding, ArticleResult, Finding, ReadError, Segment

CHUNK_ARTICLES = 64  # articles whose body sentences share LM batches, unless Settings.chunk_articles says otherwise
MEMO_LIMIT = 200_000  # sentences whose features are kept in memory for reuse within a run
ARTICLE_MEMO_LIMIT = 1_000  # analysed articles kept for their exact copies (least recently used go first)


@dataclass
class Stats:
    """What each step did; reported in the corpus summary."""

    counts: Counter = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n


class Pipeline:
    """Scores articles; build one per process and reuse it (the model is shared per process and loads when a
    sentence first needs scoring, so a run served wholly from the score cache never loads it)."""

    def __init__(
        self, settings: Settings | None = None, *, scorer: Scorer | None = None, calibration: Calibration | None = None
    ) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.scorer = scorer or get_scorer(s.model, **scorer_options(s))
        self._calibration = calibration  # None: the settings' (or the model's shipped) one, loaded on first use
        self.stats = Stats()
        self._memo: dict[object, dict] = {}  # a unit's LM key (its text and what it is read after) -> features
        self._articles: OrderedDict[tuple, ArticleResult] = OrderedDict()  # exact copies: see copy_step
        folder = cache_folder(s)
        self.cache = ScoreCache(os.path.join(folder, "scores.sqlite"), self.lm_signature) if folder else None
        self._signature: str | None = None

    @property
    def lm_signature(self) -> str:
        """What determines a sentence's LM scores: the model and scorer, and what it is read after."""
        s = self.settings
        if self.reads_passages:
            return f"{self.scorer.signature}|context:passage/{s.passage_units}@{PASSAGES_VERSION}"
        return f"{self.scorer.signature}|context:{s.context_tokens}"

    @property
    def reads_passages(self) -> bool:
        return self.settings.reads_passages

    @property
    def calibration(self) -> Calibration:
        """Loaded on first use, so LM-only users (scripts/calibrate.py) need no calibration file."""
        if self._calibration is None:
            self._calibration = load_calibration(
                self.settings.calibration,
                model=self.scorer.name,
                context="passage" if self.reads_passages else "previous",
            )
        return self._calibration

    @property
    def signature(self) -> str:
        """The run signature: every stage's own signature, joined. It names everything that changes a score,
        a flag or a report, so reports and --resume can tell whether they are comparable."""
        if self._signature is None:
            from mtqa import report
            from mtqa.version import __version__

            self._signature = "|".join(
                [
                    f"mtqa:{__version__}",
                    segment.signature(),
                    rules.signature(),
                    langid.signature(),
                    self.lm_signature,
                    features.signature(),
                    self.calibration.signature,
                    reference.signature(),
                    codes.signature(),
                    policy.signature(self.settings),
                    report.signature(),
                    repair.signature(),
                ]
            )
        return self._signature

    # -- steps -------------------------------------------------------------------------------
    def lm_step(
        self,
        sentences: list[str],
        contexts: list[str] | None = None,
        *,
        tally: str = "sentences",
        articles: list[str] | None = None,
    ) -> list[dict]:
        """LM features for each sentence (offsets relative to it), each conditioned on what comes before it.
        ``tally`` names what is counted (``repair``: candidate repairs, kept apart from the article's sentences).

        Read as passages (the default): with ``articles`` (the article each sentence belongs to), the sentences
        of one article are read together, in the order given (:meth:`passage_step`); without, each sentence
        after its ``contexts`` entry (the sentence before it), or alone. With ``context="previous"``, each
        sentence after the tail of its context; each unique (context, sentence) pair is scored once."""
        if self.reads_passages:
            return self._passage_features(sentences, contexts, articles, tally)
        keys = [
            (context_key(c, self.settings.context_tokens), squash(uncapitalised(t)))
            for c, t in zip(contexts or [""] * len(sentences), sentences, strict=True)
        ]
        todo = sorted(set(keys) - self._memo.keys())
        flat = {f"{c}\x1f{t}": (c, t) for c, t in todo}
        found = self.cache.get_many(list(flat)) if self.cache else {}
        scores = {flat[k]: v for k, v in found.items()}
        missing = [k for k in todo if k not in scores]
        if missing:
            fresh = self.scorer.score(
                [t for _, t in missing], contexts=[c for c, _ in missing], context_tokens=self.settings.context_tokens
            )
            scores.update(zip(missing, fresh, strict=True))
            if self.cache:
                self.cache.put_many({f"{c}\x1f{t}": v for (c, t), v in zip(missing, fresh, strict=True)})
        self.stats.add(f"{tally}_lm_scored", len(missing))
        self.stats.add(f"{tally}_cache_hits", len(todo) - len(missing))
        self.stats.add(f"{tally}_reused", len(sentences) - len(todo))
        if len(self._memo) > MEMO_LIMIT:
            self._memo.clear()
        for key in todo:
            self._memo[key] = lm_features(key[1], scores[key])
        return [self._memo[k] for k in keys]

    def score_sentences(
        self, sentences: list[str], contexts: list[str] | None = None, articles: list[str] | None = None
    ) -> list[tuple[float, dict, list]]:
        """(probability, features, findings) for standalone text units: what ``mtqa eval`` measures.

        ``articles`` names the article each unit belongs to (its context for the calibration is the median of
        that article's units, and, read as passages, the units of one article are read together in the order
        given); without it each unit is an article of its own."""
        feats = self.lm_step(sentences, contexts, articles=articles)
        groups = articles or [str(i) for i in range(len(sentences))]
        by_group: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            by_group.setdefault(g, []).append(i)
        probs: list[float] = [0.0] * len(sentences)
        for members in by_group.values():
            fs = [feats[i] for i in members]
            for i, p in zip(members, self.calibration.predict_article(fs, [True] * len(fs)), strict=True):
                probs[i] = p
        return [(p, f, unit_findings(text)) for text, f, p in zip(sentences, feats, probs, strict=True)]

    def _passage_features(
        self, sentences: list[str], contexts: list[str] | None, articles: list[str] | None, tally: str
    ) -> list[dict]:
        """:meth:`lm_step` for standalone units read as passages: grouped by ``articles``, else each unit after
        its context (a unit that is not scored, like the sentence before it in an article)."""
        if articles is not None:
            groups: dict[str, list[int]] = {}
            for i, name in enumerate(articles):
                groups.setdefault(name, []).append(i)
            documents, before = list(groups.values()), [""] * len(groups)
        else:
            documents = [[i] for i in range(len(sentences))]
            before = [(contexts[i] or "") if contexts else "" for i in range(len(sentences))]
        units, wanted = [], []
        for doc, ctx in zip(documents, before, strict=True):
            units.append([*([ctx] if ctx else []), *(sentences[i] for i in doc)])
            wanted.append([*([False] if ctx else []), *([True] * len(doc))])
        out: list[dict] = [{}] * len(sentences)
        for doc, feats in zip(documents, self.passage_step(units, wanted, tally=tally), strict=True):
            for i, f in zip(doc, [f for f in feats if f is not None], strict=True):
                out[i] = f
        return out

    def passage_step(
        self,
        articles: list[list[str]],
        wanted: list[list[bool]],
        titled: list[bool] | None = None,
        *,
        tally: str = "sentences",
    ) -> list[list[dict | None]]:
        """LM features of the wanted units of each article (its title, when ``titled``, then its sentences):
        each article is read in passages (:mod:`mtqa.lm.passages`), every unit conditioned on the text before it
        in its passage. A unit's features are keyed by exactly what its scores depend on, so a passage that
        recurs in a run (syndicated copies) is scored once, and the score cache serves any article that shares
        it; None for units not wanted. All-caps units are read in running-text case (:func:`uncapitalised`)."""
        every = self.settings.passage_units
        plan = []  # (article, passage)
        text_of: dict[str, str] = {}
        for a, units in enumerate(articles):
            units = [squash(uncapitalised(u)) for u in units]
            seps = separators(len(units), bool(titled and titled[a]))
            for p in passages(units, seps, every=every):
                plan.append((a, p))
                text_of.update((k, units[i]) for k, i in zip(p.keys, p.indexes, strict=True))
        wanted_keys = [p.keys[j] for a, p in plan for j, i in enumerate(p.indexes) if wanted[a][i]]
        todo = sorted(set(wanted_keys) - self._memo.keys())
        found = self.cache.get_many(todo) if self.cache else {}
        missing = set(todo) - found.keys()
        batch = {}  # one document per distinct passage with a unit to score
        for _, p in plan:
            if p.keys not in batch and any(k in missing for k in p.keys):
                batch[p.keys] = replace(p.document, wanted=tuple(k in missing for k in p.keys))
        fresh = {}
        if batch:
            for keys, scores in zip(batch, self.scorer.score_documents(list(batch.values())), strict=True):
                fresh.update((k, sc) for k, sc in zip(keys, scores, strict=True) if sc is not None)
            if self.cache:
                self.cache.put_many(fresh)
        self.stats.add(f"{tally}_lm_scored", len(fresh))
        self.stats.add(f"{tally}_cache_hits", len(found))
        self.stats.add(f"{tally}_reused", len(wanted_keys) - len(todo))
        if len(self._memo) > MEMO_LIMIT:
            self._memo.clear()
        scores = {**found, **fresh}
        for key in todo:
            self._memo[key] = lm_features(text_of[key], scores[key])
        out: list[list[dict | None]] = [[None] * len(units) for units in articles]
        for a, p in plan:
            for k, i in zip(p.keys, p.indexes, strict=True):
                if wanted[a][i]:
                    out[a][i] = self._memo[k]
        return out

    def _article_features(self, results: list[ArticleResult], scored: list[list[Reading]]) -> list[dict]:
        """LM features of the sentences to score of each article (``scored``: its title and body sentences, in
        that order), each read in its article: the title, then every body sentence (scored or not: all are
        context)."""
        articles, wanted, titled = [], [], []
        for res, chosen in zip(results, scored, strict=True):
            every = article_readings(res)
            starts = {r.start for r in chosen}
            articles.append([r.text for r in every])
            wanted.append([r.start in starts for r in every])
            titled.append(bool(every) and every[0].parts[0].kind == "title")
        feats = self.passage_step(articles, wanted, titled)
        return [f for fs in feats for f in fs if f is not None]

    def segment_step(self, article: Article) -> tuple[list[Segment], dict, str | None]:
        layout = segment_article(article)
        for seg in layout.segments:
            self.stats.add(f"segments_{seg.kind}")
        return layout.segments, layout.paragraph_of, layout.title

    def rules_step(self, text: str, segments: list[Segment], paragraph_of: dict) -> list[ArticleFinding]:
        """Sentence rules on each body sentence as it is read (the parts of a broken sentence together, each
        finding given to the part it starts in), title rules on the title, article rules on the article."""
        body = [s for s in segments if s.kind == "body"]
        spans = [(s.start, s.end) for s in body]
        sentences = readings(text, body)
        paragraphs = [(paragraph_of[r.parts[0].index][0], paragraph_of[r.parts[-1].index][1]) for r in sentences]
        found_in = rules.apply_sentence_rules(blank_gaps(text, body), [(r.start, r.end) for r in sentences], paragraphs)
        for r, found in zip(sentences, found_in, strict=True):
            for seg in r.parts:
                seg.findings = [replace(f, end=min(f.end, seg.end)) for f in found if seg is _part_at(r, f.start)]
            self.stats.add("findings", len(found))
        title = next((s for s in segments if s.kind == "title"), None)
        if title is not None:
            title.findings = rules.apply_title_rules(text, (title.start, title.end))
            self.stats.add("findings", len(title.findings))
        found = rules.apply_article_rules(text, (title.start, title.end) if title else None, spans)
        self.stats.add("article_findings", len(found))
        return found

    def language_step(self, segments: list[Segment]) -> tuple[list[ArticleFinding], list[Segment]]:
        """Language identification: ``(article findings, body sentences to score with the LM)``.

        A confidently non-English article gets a ``not-english`` article finding, none of its sentences is
        scored (their score stays None) and the English rules' findings are dropped; in an English article,
        a confidently non-English sentence gets a ``not-english`` finding spanning it instead of a score."""
        body = [s for s in segments if s.kind == "body"]
        found = langid.article_language(body)
        if found is not None:  # English rules on foreign text are noise: their sentence findings go too
            self.stats.add("articles_not_english")
            self.stats.add("sentences_not_english", len(body))
            for seg in body:
                seg.findings = []
            return [found], []
        keep = []
        for seg in body:
            f = langid.sentence_language(seg)
            if f is None:
                keep.append(seg)
                continue
            seg.findings = sorted([*seg.findings, f], key=lambda x: (x.start, x.end, x.code))
            seg.flagged = policy.flags(seg, self.settings)
            self.stats.add("sentences_not_english")
            self.stats.add("sentences_flagged", int(seg.flagged))
        return [], keep

    def calibrate_step(self, sentences: list[Reading], feats: list[dict], chosen: list[Segment]) -> None:
        """One article's scored sentences (its title and body sentences): each one's probability from its own
        LM features and its article's (mtqa.calibrate), given to each of its ``chosen`` segments (both parts of
        a sentence broken around chrome), then the policy's flag."""
        keep = {seg.index for seg in chosen}
        probs = self.calibration.predict_article(feats, [r.parts[0].kind == "body" for r in sentences])
        for r, f, p in zip(sentences, feats, probs, strict=True):
            shifted = _shift(f, r.start, r.text)
            for seg in r.parts:
                if seg.index not in keep:
                    continue
                seg.features = dict(shifted)
                seg.score = round(p, 4)
                seg.flagged = policy.flags(seg, self.settings)
                self.stats.add("sentences_flagged", int(seg.flagged))

    def repair_step(self, results: list[ArticleResult]) -> None:
        """Suggested repairs (:mod:`mtqa.repair`) for the findings of a chunk's articles: every candidate is
        scored like the sentence it repairs (same context, scorer, cache and batches, all in one call) and ranked
        by its log-probability gain. Never changes a score, a flag or a verdict."""
        jobs, texts, contexts = [], [], []
        for res in results:
            try:
                found = repair.plan(res, sentence_contexts(res, self.settings))
            except Exception:  # a repair that cannot be planned must not cost the article its report
                self.stats.add("repair_errors")
                continue
            for job in found:
                unit = job.texts(res.text)
                texts += unit
                contexts += [job.context] * len(unit)
            jobs += found
        feats = self.lm_step(texts, contexts, tally="repair") if texts else []
        self.stats.add("suggestions", repair.attach(jobs, [f.get("lm_sum_logprob") for f in feats]))

    def reference_step(self, result: ArticleResult, text: str) -> None:
        """Compare the article with its trusted reference (``Article.reference``): the aligned reference
        sentences and sacrebleu figures go on the body sentences and the article, possible additions and
        omissions become findings. Runs after calibration, so it never changes a garble score."""
        body = [s for s in result.segments if s.kind == "body"]
        found = reference.compare(body, text)
        if found.summary is None and not found.article_findings:
            return  # an empty reference, or one without body sentences: nothing to say
        self.stats.add("articles_with_reference")
        for seg in body:
            seg.reference = found.segments.get(seg.index)
        by_start = {s.start: s for s in body}
        for f in found.findings:  # each spans exactly one body sentence
            seg = by_start[f.start]
            seg.findings = sorted([*seg.findings, f], key=lambda x: (x.start, x.end, x.code))
            if not seg.flagged and policy.flags(seg, self.settings):
                seg.flagged = True
                self.stats.add("sentences_flagged")
        result.article_findings = [*result.article_findings, *found.article_findings]
        result.reference = found.summary
        self.stats.add("reference_additions", len(found.findings))
        self.stats.add("reference_omissions", sum(f.code == reference.OMISSION for f in found.article_findings))

    def verdict_step(self, result: ArticleResult) -> None:
        """Article score = the worst sentence's probability; the verdict is the policy's (mtqa.policy)."""
        scores = [seg.score for seg in result.segments if seg.kind == "body" and seg.score is not None]
        result.score = round(max(scores, default=0.0), 4)
        result.verdict = policy.verdict(result, self.settings)
        self.stats.add(f"verdict_{result.verdict}")

    def copy_step(self, item: Article, original: ArticleResult) -> ArticleResult:
        """An exact copy of an article analysed earlier in the run (same text, title, reference and input
        notes: every step would give the same answer) gets the original's analysis under its own id and
        input. Syndicated corpora are mostly such copies, so this is where a re-run of one saves its time."""
        self.stats.add("articles")
        self.stats.add("articles_copied")
        self.stats.add("article_errors", original.status == "error")
        self.stats.add("sentences_reused", sum(s.score is not None for s in original.segments))
        self.stats.add("sentences_flagged", original.n_flagged)
        if original.verdict:
            self.stats.add(f"verdict_{original.verdict}")
        return replace(
            original,
            id=item.id,
            input=item.input,
            url=item.url,
            segments=[replace(s, findings=list(s.findings)) for s in original.segments],
            article_findings=list(original.article_findings),
        )

    def _remember(self, item: Article, result: ArticleResult) -> None:
        key = _article_key(item)
        self._articles[key] = result
        self._articles.move_to_end(key)
        if len(self._articles) > ARTICLE_MEMO_LIMIT:
            self._articles.popitem(last=False)

    # -- the one scoring function of every engine ------------------------------------------------
    def score_chunk(self, chunk: list[Article | ReadError]) -> list[ArticleResult]:
        """Score one chunk of articles together (their body sentences share LM batches), in input order.

        The one scoring function of every engine: the local engine calls it in this process, a Dask worker on
        the chunks it is sent (see :mod:`mtqa.engines`), so both engines give the same results."""
        results: list[ArticleResult | None] = []
        # (result, units to score: title and body sentences, trusted reference: None for a foreign article)
        pending: list[tuple[ArticleResult, list[Segment], str | None]] = []
        analysed: list[tuple[Article, ArticleResult]] = []
        # exact copies: (position, article, its original when analysed in an earlier chunk, else None)
        copies: list[tuple[int, Article, ArticleResult | None]] = []
        in_chunk: set[tuple] = set()
        for item in chunk:
            if isinstance(item, ReadError):
                self.stats.add("read_errors")
                results.append(read_error_result(item, self.signature))
                continue
            key = _article_key(item)
            if key in self._articles or key in in_chunk:
                if key in self._articles:
                    self._articles.move_to_end(key)  # least recently used goes first
                copies.append((len(results), item, self._articles.get(key)))
                results.append(None)  # filled in below, once its original is done
                continue
            in_chunk.add(key)
            self.stats.add("articles")
            res = ArticleResult(id=item.id, input=item.input, text=item.text, url=item.url, signature=self.signature)
            try:
                res.segments, paragraph_of, res.title = self.segment_step(item)
                notes = [codes.article_finding(code, message) for code, message in item.notes]
                for code, _ in item.notes:
                    self.stats.add(f"input_notes_{code}")
                found = self.rules_step(item.text, res.segments, paragraph_of)
                lang_found, to_score = self.language_step(res.segments)
                title = (
                    [s for s in res.segments if s.kind == "title" and langid.title_language(s) is None]
                    if not lang_found
                    else []
                )
                to_score = [*title, *to_score]
                res.article_findings = [*notes, *lang_found, *([] if lang_found else found)]
                pending.append((res, to_score, None if lang_found else item.reference))
            except Exception as exc:  # one broken article must not stop the batch
                res.status, res.error = "error", f"{type(exc).__name__}: {exc}"
                self.stats.add("article_errors")
            results.append(res)
            analysed.append((item, res))
        scored = [_scored(res, segs) for res, segs, _ in pending]  # the sentences to score, as they are read
        if self.reads_passages:
            feats = iter(self._article_features([res for res, _, _ in pending], scored))
        else:
            contexts = [ctx for (res, _, _), rs in zip(pending, scored, strict=True) for ctx in _contexts(res, rs)]
            feats = iter(self.lm_step([r.text for rs in scored for r in rs], contexts))
        for (_, segs, _), rs in zip(pending, scored, strict=True):
            self.calibrate_step(rs, [next(feats) for _ in rs], segs)
        self.repair_step([res for res, _, _ in pending])
        for res, _, ref in pending:
            if ref:
                try:
                    self.reference_step(res, ref)
                except Exception as exc:  # a reference that cannot be compared must not stop the batch
                    res.status, res.error = "error", f"reference: {type(exc).__name__}: {exc}"
                    self.stats.add("article_errors")
                    continue
            self.verdict_step(res)
        here = {_article_key(item): res for item, res in analysed}
        for i, item, original in copies:
            results[i] = self.copy_step(item, original or here[_article_key(item)])
        for item, res in analysed:
            self._remember(item, res)
        return results


def scorer_options(settings: Settings) -> dict:
    """The scorer's options in ``settings`` (the process-wide scorer is shared by equal options)."""
    s = settings
    return {
        "max_tokens": s.max_tokens,
        "batch_tokens": s.batch_tokens,
        "threads": s.threads,
        "backend": s.backend,
        "precision": s.precision,
        "device": s.device,
    }


def _article_key(item: Article) -> tuple:
    """What an article's analysis depends on: two articles with equal keys get equal reports but for id/input."""
    return item.text, item.title, item.reference, item.notes, item.recurring_lines


def read_error_result(item: ReadError, signature: str) -> ArticleResult:
    """The error result (and summary row) of an input that could not be read."""
    return ArticleResult(
        id=item.id or item.input, input=item.input, status="error", error=item.message, signature=signature
    )


def article_readings(result: ArticleResult) -> list[Reading]:
    """The article's title and body sentences as they are read (:func:`mtqa.segment.readings`)."""
    title = [s for s in result.segments if s.kind == "title"][:1]
    return readings(result.text, [*title, *(s for s in result.segments if s.kind == "body")])


def _scored(result: ArticleResult, chosen: list[Segment]) -> list[Reading]:
    """The sentences of an article to score: those with a part among ``chosen`` (the title and the body
    sentences that language identification kept)."""
    keep = {s.index for s in chosen}
    return [r for r in article_readings(result) if any(p.index in keep for p in r.parts)]


def _contexts(result: ArticleResult, units: list[Reading]) -> list[str]:
    """Each sentence's context: nothing for the title, the body sentence before it, or the title for the first."""
    title = next((s.text for s in result.segments if s.kind == "title"), "")
    every = readings(result.text, [s for s in result.segments if s.kind == "body"])
    before = dict(zip((r.start for r in every), [title, *(r.text for r in every[:-1])], strict=False))
    return [before.get(r.start, "") if r.parts[0].kind == "body" else "" for r in units]


def _part_at(sentence: Reading, pos: int) -> Segment:
    """The part of a sentence that holds article offset ``pos`` (the one before, for an offset between parts)."""
    return next((p for p in reversed(sentence.parts) if p.start <= pos), sentence.parts[0])


def uncapitalised(text: str) -> str:
    """A unit written all in capitals ('DISAPPOINTING NIGHT FOR IRISHMAN') as the LM would see it in running
    text: lower case but its first letter. The model judges words, not letter case; every character keeps its
    place, so offsets do not move."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 4 or any(c.islower() for c in letters):
        return text
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    first = next(i for i, c in enumerate(lowered) if c.isalpha())
    return lowered[:first] + text[first] + lowered[first + 1 :]


def sentence_contexts(result: ArticleResult, settings: Settings | None = None) -> dict[int, str]:
    """The text each body sentence is read after, by segment index, so that a repair candidate is scored as the
    sentence is: with ``context="previous"`` (the default), the sentence before it (or the title); read as
    passages, the text before it in its passage (the passage's context and its units before it, joined). The
    second part of a sentence broken around chrome is read after its first part as well."""
    s = settings or Settings()
    units = article_readings(result)
    if not s.reads_passages:
        before = _contexts(result, units)
    else:
        texts = [squash(uncapitalised(u.text)) for u in units]
        seps = separators(len(units), bool(units) and units[0].parts[0].kind == "title")
        before = [""] * len(units)
        for p in passages(texts, seps, every=s.passage_units):
            context = p.document.context
            for k, i in enumerate(p.indexes):
                before[i] = context
                context = f"{context}{p.document.separator(k)}{p.document.units[k]}"
    out = {}
    for r, context in zip(units, before, strict=True):
        for k, seg in enumerate(r.parts):  # a later part of a broken sentence is read after the parts before it
            if seg.kind == "body":
                out[seg.index] = " ".join([context, *(squash(p.text) for p in r.parts[:k])]).strip() if k else context
    return out


def context_key(context: str | None, context_tokens: int) -> str:
    """The context as the LM will use it: whitespace-normalised and cut to its tail (at a space), so that
    contexts differing only far from the sentence share one cache entry."""
    if not context or context_tokens <= 0:
        return ""
    text = squash(context)
    limit = 12 * context_tokens  # characters: comfortably more than context_tokens tokens of English
    if len(text) > limit:
        cut = text.find(" ", len(text) - limit)
        text = text[cut + 1 :] if cut >= 0 else text[-limit:]
    return text


def _shift(features: dict, offset: int, text: str) -> dict:
    """Map spans from the whitespace-normalised sentence the LM saw to article offsets."""
    if squash(text) == text:  # the common case: the LM saw the sentence as it stands
        index: Sequence[int] = range(len(text))
    else:
        index = [i for i, ch in enumerate(text) if not ch.isspace() or (i > 0 and not text[i - 1].isspace())]
        # ``index[k]`` is where the k-th character of the normalised text sits in ``text``.
        index = [i for i in index if i < len(text.rstrip())]
        index = index[next((k for k, i in enumerate(index) if not text[i].isspace()), 0) :]

    def at(a: int, b: int) -> tuple[int, int]:
        return offset + index[a], offset + index[b - 1] + 1

    out = dict(features)
    for key in ("window", "break"):
        if key in out:
            a, b = at(out[key]["start"], out[key]["end"])
            out[key] = {**out[key], "start": a, "end": b, "text": text[a - offset : b - offset]}
    if "tokens" in out:
        out["tokens"] = [
            [*at(a, b), s] if b > a else [offset + index[min(a, len(index) - 1)]] * 2 + [s] for a, b, s in out["tokens"]
        ]
    return out


def unit_findings(text: str) -> list[Finding]:
    """Rule findings of a standalone unit (a benchmark segment): rules run per sentence, as in articles."""
    spans = split_sentences(text, 0, len(text)) or [(0, len(text))]
    per_sentence = rules.apply_sentence_rules(text, spans, [(0, len(text))] * len(spans))
    return [f for found in per_sentence for f in found]
