"""The course's table of contents: one manifest for the README table, Colab links and slides."""
from __future__ import annotations

from dataclasses import dataclass

#: The one place the repository's address lives (Colab badges and the Colab set-up cell).
REPO_URL = "https://github.com/adapting-llms/course"
REPO_SLUG = "adapting-llms/course"
BRANCH = "main"


@dataclass(frozen=True)
class Lesson:
    number: str
    slug: str
    title: str
    teaches: str

    @property
    def notebook(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"

    @property
    def colab_url(self) -> str:
        return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{BRANCH}/notebooks/{self.notebook}"


LESSONS: list[Lesson] = [
    Lesson("00", "setup", "Setup", "hardware detection, profiles, will-it-fit memory calculator"),
    Lesson("01", "pretraining", "Pretraining",
           "data pipeline, BPE tokenizer, a GPT from scratch, perplexity, CLM vs MLM"),
    Lesson("02", "transfer_learning", "Transfer learning",
           "CNN transfer on digits; MiniLM frozen vs fine-tuned vs scratch"),
    Lesson("03", "full_finetuning", "Full fine-tuning",
           "SFT, chat template, loss masking, hyperparameters, forgetting, rehearsal, copied habits"),
    Lesson("04", "lora", "LoRA", "a LoRA layer from scratch vs peft, rank/alpha, where each update acts "
                                 "(forgetting), merging, adapters, prompt tuning"),
    Lesson("05", "qlora", "QLoRA", "int8 and NF4 from scratch vs bitsandbytes, what each format costs the "
                                   "model, 4-bit base + LoRA"),
    Lesson("06", "reward_modeling", "Reward modeling", "Bradley-Terry from scratch vs trl, reward hacking"),
    Lesson("07", "ppo", "PPO (RLHF)", "the PPO loop from scratch: rollouts, KL penalty, GAE, clipping; "
           "reward hacking; trl GRPO with a verifiable reward"),
    Lesson("08", "dpo", "DPO", "the DPO loss from scratch vs trl, on-policy pairs, SFT -> DPO, reward-vs-KL frontier"),
    Lesson("09", "capstone", "Capstone", "continued pretraining, RAG vs fine-tuning vs both, knowledge that changes, "
                                         "best-of-n, every stage in one table, a decision guide"),
]
