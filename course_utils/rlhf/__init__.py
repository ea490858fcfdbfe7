"""RLHF pieces of the course: reward modeling (lesson 06), the course's own PPO trainer
(lesson 07) and DPO (lesson 08). Each mechanism is written from scratch in a few lines and
checked against trl on the same inputs.

Modules: :mod:`.reward` (Bradley-Terry loss, reward model, ``load_reward_model``),
:mod:`.ppo` (``PPOConfig``, ``PPOTrainer`` and its pieces), :mod:`.dpo` (DPO loss, implicit
rewards, ``train_dpo``), :mod:`.common` (masked statistics, padding, log-probs, sampling, KL),
:mod:`.toy` (a tiny tokenizer and models for tests and demos).
"""
