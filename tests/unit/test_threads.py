"""The thread count does not change a figure (course_utils.seed): ``make test`` runs notebooks on
one thread each, side by side, while a learner's notebook alone uses every core, and both must
write the same records. Checked on a small Llama of the course's shapes: training steps with
AdamW and gradient clipping, greedy answers and seeded sampled answers."""
from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from course_utils import seed


def _run(threads: int) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Train a freshly seeded small model three steps on ``threads`` threads; its weights,
    greedy and sampled continuations."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        seed.seed_everything(0)
        cfg = LlamaConfig(vocab_size=400, hidden_size=192, intermediate_size=512, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                          tie_word_embeddings=True, pad_token_id=1, bos_token_id=0, eos_token_id=0)
        model = LlamaForCausalLM(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        batch = torch.randint(2, 400, (16, 48))                        # (B, T): big enough to split
        for _ in range(3):
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
        model.eval()
        prompts = batch[:8, :12]                                       # (8, 12)
        greedy = model.generate(prompts, max_new_tokens=10, do_sample=False, pad_token_id=1)
        torch.manual_seed(1)
        sampled = model.generate(prompts, max_new_tokens=10, do_sample=True, top_k=0, top_p=1.0, pad_token_id=1)
        return {k: v.clone() for k, v in model.state_dict().items()}, greedy, sampled
    finally:
        torch.set_num_threads(before)


def test_one_thread_and_two_give_identical_weights_and_answers():
    w1, g1, s1 = _run(1)
    w2, g2, s2 = _run(2)
    differ = [k for k in w1 if not torch.equal(w1[k], w2[k])]
    assert not differ, (f"{len(differ)} weight tensors differ between 1 and 2 threads (e.g. {differ[0]}): this "
                        f"machine's kernels split sums by thread count; run with COURSE_TORCH_THREADS=1")
    assert torch.equal(g1, g2) and torch.equal(s1, s2), "greedy or sampled answers differ between 1 and 2 threads"
