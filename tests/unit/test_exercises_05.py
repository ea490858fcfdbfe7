"""Lesson 05's exercise checks: each solution passes, wrong answers fail (and nothing raises)."""
from pathlib import Path

import torch

from course_utils.exercises import lesson05 as ex
from course_utils.exercises import load_solutions

sol = load_solutions("05")


def test_int8():
    assert ex.check_int8(sol.quantize_int8)
    assert not ex.check_int8(lambda w: (torch.round(w / (w.abs().max() / 255)).to(torch.int8), w.abs().max() / 255))
    assert not ex.check_int8(lambda w: (w, 1.0))


def test_bits():
    assert ex.check_bits_per_param(sol.bits_per_param)
    assert not ex.check_bits_per_param(lambda bs, dq: 4.0)


def test_nf4():
    assert ex.check_nf4(sol.quantize_nf4)

    def uniform_levels(w, bs):
        codes, absmax = sol.quantize_nf4(w, bs)
        return (codes.float() * 0 + 7).long(), absmax

    def global_scale(w, bs):
        codes, absmax = sol.quantize_nf4(w, bs)
        return codes, absmax * 0 + w.abs().max()

    assert not ex.check_nf4(uniform_levels)
    assert not ex.check_nf4(global_scale)
    assert not ex.check_nf4(lambda w, bs: (_ for _ in ()).throw(NotImplementedError))
