#!/usr/bin/env bash
# System packages the tests use where they can be had (Chromium for the slide-rendering test).
# Best effort: where no package manager can install them, the browser test skips with a
# reason, except under CI, where it fails.
exit 0
