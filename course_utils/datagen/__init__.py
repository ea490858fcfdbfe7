"""Code that makes the course's data sets in ``data/`` (``make data``), byte for byte.

Each module has ``write(data_dir) -> list[Path]``: ``corpus`` (general English), ``agri``
(the agriculture knowledge base, instructions, preferences, RL prompts), ``intents``
(question intents for transfer learning). All facts are invented.
"""
