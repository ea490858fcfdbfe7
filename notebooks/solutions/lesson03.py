"""Solutions to lesson 03's exercises."""
import torch
import torch.nn.functional as F


def mask_prompt(prompt_ids, completion_ids):
    """Easy: the model reads prompt + completion, but only the completion is graded."""
    return prompt_ids + completion_ids, [-100] * len(prompt_ids) + completion_ids


def completion_loss(logits, labels):
    """Medium: position t predicts token t+1; -100 labels (the prompt, padding) are ignored."""
    vocab = logits.size(-1)
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1), ignore_index=-100)


def sft_step(model, optimizer, batch):
    """Hard: one step of supervised fine-tuning in plain PyTorch."""
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return float(loss)
