"""The course's pretraining recipe: one implementation for lesson 01 and ``load_base_model()``.

tokenizer (byte-level BPE) -> token stream (documents joined by ``<|end|>``) -> fixed-size
blocks -> a small Llama-style causal LM trained with AdamW on next-token prediction.
The objective itself is written from scratch in lesson 01; :func:`causal_lm_loss` is the
reference version the tests compare with the model's own loss.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers.models import BPE

from course_utils import chat


@dataclass(frozen=True)
class PretrainConfig:
    """Sizes and optimisation settings of one pretraining run."""

    vocab_size: int = 2048
    n_layer: int = 4
    d_model: int = 192
    n_head: int = 4
    d_ff: int = 512
    context: int = 128
    steps: int = 400
    batch_size: int = 16
    lr: float = 2e-3
    warmup: int = 30
    weight_decay: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_layer", "d_model", "n_head", "d_ff", "context", "steps", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"PretrainConfig.{name} must be a positive int, got {getattr(self, name)!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")
        if self.vocab_size < 256 + len(chat.SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must be at least {256 + len(chat.SPECIAL_TOKENS)} "
                             f"(the 256 byte symbols plus the special tokens), got {self.vocab_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ tokenizer
def train_tokenizer(texts: Iterable[str], vocab_size: int = 2048):
    """Train a byte-level BPE on ``texts`` and wrap it as a ``PreTrainedTokenizerFast``.

    Byte-level means any string can be encoded (no unknown token); the course's chat markers
    are special tokens, ``<|end|>`` ends a document (and a turn), ``<|pad|>`` pads batches."""
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415  +1.6 s on `import course_utils.pretrain` (lesson 00, via models)

    if vocab_size < 256 + len(chat.SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be at least {256 + len(chat.SPECIAL_TOKENS)}, got {vocab_size}")
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(chat.SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=chat.END, pad_token=chat.PAD,
                                   additional_special_tokens=[chat.USER, chat.ASSISTANT])
    fast.chat_template = chat.CHAT_TEMPLATE
    fast.padding_side = "left"  # generation from a batch of prompts wants left padding
    return fast


def encode_documents(tokenizer, texts: Sequence[str]) -> list[int]:
    """One token stream: each document's ids followed by the end-of-document token."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    return stream


def pack_blocks(ids: Sequence[int], block_size: int) -> torch.Tensor:
    """Cut a token stream into ``(n_blocks, block_size)`` rows; the ragged tail is dropped.

    Packing wastes no compute on padding: a block may span several documents, separated by
    ``<|end|>``, and the model learns that a new document starts after it."""
    if block_size < 2:
        raise ValueError(f"block_size must be at least 2 (an input and a next token), got {block_size}")
    n = len(ids) // block_size
    if n == 0:
        raise ValueError(f"only {len(ids)} tokens: not enough for one block of {block_size}")
    return torch.tensor(list(ids[: n * block_size]), dtype=torch.long).view(n, block_size)


# ------------------------------------------------------------------ model
def build_model(cfg: PretrainConfig, tokenizer):
    """A freshly initialised Llama-style causal LM of ``cfg``'s size (RMSNorm, RoPE, SwiGLU;
    tied input/output embeddings). Module names are the standard ones (q_proj, v_proj, ...),
    so peft and bitsandbytes treat it like any Llama."""
    from transformers import LlamaConfig, LlamaForCausalLM  # noqa: PLC0415  as above, on lesson 00's path

    torch.manual_seed(cfg.seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.d_model, intermediate_size=cfg.d_ff,
        num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head, num_key_value_heads=cfg.n_head,
        max_position_embeddings=cfg.context, tie_word_embeddings=True,
        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def n_params(model) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ objective and evaluation
def causal_lm_loss(logits: torch.Tensor, input_ids: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts token t+1 (mean over predicted tokens)."""
    if logits.dim() != 3 or input_ids.shape != logits.shape[:2]:
        raise ValueError(f"expected logits (batch, seq, vocab) and ids (batch, seq), got "
                         f"{tuple(logits.shape)} and {tuple(input_ids.shape)}")
    pred = logits[:, :-1].reshape(-1, logits.size(-1))
    target = input_ids[:, 1:].reshape(-1)
    return F.cross_entropy(pred.float(), target, ignore_index=ignore_index)


@torch.no_grad()
def mean_loss(model, blocks: torch.Tensor, batch_size: int = 32) -> float:
    """Mean next-token loss of ``model`` over ``blocks`` (every block has the same length)."""
    if len(blocks) == 0:
        raise ValueError("no blocks to evaluate")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        x = blocks[i:i + batch_size].to(device)
        total += float(model(input_ids=x, labels=x).loss) * len(x)
        count += len(x)
    model.train(was_training)
    return total / count


def perplexity(model, blocks: torch.Tensor, batch_size: int = 32) -> float:
    """exp(mean next-token loss): the number of equally likely choices the model is 'torn between'."""
    return math.exp(mean_loss(model, blocks, batch_size))


# ------------------------------------------------------------------ training
def train(model, train_blocks: torch.Tensor, cfg: PretrainConfig, val_blocks: torch.Tensor | None = None,
          eval_every: int = 50, n_eval_blocks: int = 64,
          on_eval: Callable[[int, float, float], None] | None = None) -> dict:
    """Train ``model`` for ``cfg.steps`` steps of ``cfg.batch_size`` random blocks (AdamW, linear
    warm-up then cosine decay, gradient clipping at 1). Returns the history: train loss per step,
    validation loss every ``eval_every`` steps (on the first ``n_eval_blocks`` validation blocks),
    tokens seen and tokens per second."""
    from transformers import get_cosine_schedule_with_warmup  # noqa: PLC0415  as above, on lesson 00's path

    from course_utils import progress  # noqa: PLC0415  imports transformers' Trainer: as above

    if len(train_blocks) == 0:
        raise ValueError("no training blocks: is the corpus empty?")
    if train_blocks.size(1) > model.config.max_position_embeddings:
        raise ValueError(f"blocks of {train_blocks.size(1)} tokens exceed the model's context "
                         f"({model.config.max_position_embeddings})")
    gen = torch.Generator().manual_seed(cfg.seed)
    device = next(model.parameters()).device
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
    sched = get_cosine_schedule_with_warmup(opt, min(cfg.warmup, cfg.steps // 2), cfg.steps)
    val = val_blocks[:n_eval_blocks] if val_blocks is not None else None
    hist: dict = {"step": [], "train_loss": [], "val_step": [], "val_loss": []}

    def evaluate(step: int) -> None:
        if val is None:
            return
        v = mean_loss(model, val)
        hist["val_step"].append(step)
        hist["val_loss"].append(v)
        if on_eval:
            on_eval(step, hist["train_loss"][-1] if hist["train_loss"] else float("nan"), v)

    model.train()
    evaluate(0)
    t0, train_seconds = time.perf_counter(), 0.0
    bar = progress.bar(cfg.steps, "pretraining")
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(len(train_blocks), (cfg.batch_size,), generator=gen)
        x = train_blocks[idx].to(device)
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        hist["step"].append(step)
        hist["train_loss"].append(loss.item())
        bar.update()
        if step % eval_every == 0 or step == cfg.steps:
            train_seconds += time.perf_counter() - t0
            evaluate(step)
            bar.set_postfix(loss=f"{hist['train_loss'][-1]:.3f}", val=f"{hist['val_loss'][-1]:.3f}" if val is not None
                            else "-", refresh=False)
            t0 = time.perf_counter()
    bar.close()
    train_seconds += time.perf_counter() - t0
    model.eval()
    hist["tokens_seen"] = cfg.steps * cfg.batch_size * train_blocks.size(1)
    hist["train_seconds"] = train_seconds
    hist["tokens_per_second"] = hist["tokens_seen"] / max(train_seconds, 1e-9)
    return hist


# ------------------------------------------------------------------ sampling
@torch.no_grad()
# ------------------------------------------------------------------ the whole recipe
def _print(msg: str) -> None:
    print(msg, flush=True)


def pretrain(train_texts: Sequence[str], val_texts: Sequence[str], cfg: PretrainConfig,
             tokenizer=None, eval_every: int = 50, log: Callable[[str], None] | None = _print) -> dict:
    """The full recipe: tokenizer (trained unless given), packing, model, training, perplexity.

    Returns a dict with ``model``, ``tokenizer``, ``history``, ``train_tokens``,
    ``val_perplexity`` and ``seconds`` (wall time of the whole recipe)."""
    t0 = time.perf_counter()
    if tokenizer is None:
        tokenizer = train_tokenizer(train_texts, cfg.vocab_size)
    train_ids = encode_documents(tokenizer, train_texts)
    val_blocks = pack_blocks(encode_documents(tokenizer, val_texts), cfg.context)
    train_blocks = pack_blocks(train_ids, cfg.context)
    model = build_model(cfg, tokenizer)
    if log:
        log(f"tokenizer: {len(tokenizer)} tokens; corpus: {len(train_ids):,} train tokens, "
            f"{len(train_blocks)} blocks of {cfg.context}; model: {n_params(model):,} parameters")

    def on_eval(step: int, tr: float, v: float) -> None:
        if log:
            log(f"step {step:4d}/{cfg.steps}  train loss {tr:.3f}  val loss {v:.3f}")

    hist = train(model, train_blocks, cfg, val_blocks, eval_every=eval_every, on_eval=on_eval)
    ppl = perplexity(model, val_blocks)
    return {"model": model, "tokenizer": tokenizer, "history": hist, "train_tokens": len(train_ids),
            "val_perplexity": ppl, "seconds": time.perf_counter() - t0}
