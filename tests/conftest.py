"""Shared test set-up: the network guard is on for every test, even without `make test`."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from course_utils import netguard  # noqa: E402

netguard.install()
