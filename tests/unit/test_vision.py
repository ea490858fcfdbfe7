"""course_utils.vision: data splits, the CNN, the three transfer methods, layer views."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import vision


@pytest.fixture(scope="module")
def splits():
    return vision.load_digits_split((5, 6, 7), seed=0)


def test_split_is_disjoint_relabelled_and_scaled(splits):
    pool, test = splits
    assert pool.x.shape[1:] == (1, 8, 8) and 0 <= float(pool.x.min()) and float(pool.x.max()) <= 1
    assert set(pool.y.tolist()) == {0, 1, 2} == set(test.y.tolist())
    assert abs(len(pool.x) - len(test.x)) <= 3
    flat = {tuple(x.flatten().tolist()) for x in pool.x}
    assert sum(tuple(x.flatten().tolist()) in flat for x in test.x) < 5  # (a few digits are exact duplicates)


@pytest.mark.parametrize("digits", [(), (3, 3), (10,)])
def test_bad_digits_are_refused(digits):
    with pytest.raises(ValueError, match="digits"):
        vision.load_digits_split(digits)


def test_scatter_keeps_the_pixels_and_moves_them(splits):
    pool, _ = splits
    placed = vision.scatter(pool, canvas=12, copies=2, seed=0)
    assert placed.x.shape == (2 * len(pool.x), 1, 12, 12)
    assert torch.allclose(placed.x.sum((1, 2, 3)), pool.x.repeat(2, 1, 1, 1).sum((1, 2, 3)))
    centres = (placed.x[:, 0].sum(1) > 0).float().argmax(1)
    assert len(set(centres.tolist())) > 2, "digits should land at several positions"
    with pytest.raises(ValueError, match="canvas"):
        vision.scatter(pool, canvas=6)


def test_sample_per_class():
    labels = np.array([0] * 5 + [1] * 3)
    idx = vision.sample_per_class(labels, 2, seed=1)
    assert sorted(labels[idx].tolist()) == [0, 0, 1, 1]
    assert (idx == vision.sample_per_class(labels, 2, seed=1)).all()
    with pytest.raises(ValueError, match="has 3"):
        vision.sample_per_class(labels, 4)


def test_methods_copy_freeze_or_reinitialise(splits):
    pre = vision.SmallCNN(3, width=4)
    frozen = vision.make_transfer_model("frozen", pre, 2)
    tuned = vision.make_transfer_model("finetune", pre, 2)
    scratch = vision.make_transfer_model("scratch", pre, 2, seed=5)
    w0 = pre.body[0].weight
    assert torch.equal(frozen.body[0].weight, w0) and torch.equal(tuned.body[0].weight, w0)
    assert not torch.equal(scratch.body[0].weight, w0)
    assert vision.count_trainable(frozen) == sum(p.numel() for p in frozen.head.parameters())
    assert vision.count_trainable(tuned) == vision.count_trainable(scratch)
    with pytest.raises(ValueError, match="unknown method"):
        vision.make_transfer_model("lora", pre, 2)


def test_training_learns_and_frozen_body_stays_put(splits):
    pool, test = splits
    pre = vision.SmallCNN(3, width=4)
    model = vision.make_transfer_model("frozen", pre, 3)
    before = model.body[0].weight.clone()
    losses = vision.train(model, pool.x, pool.y, steps=60, lr=3e-2)
    assert torch.equal(model.body[0].weight, before)
    scratch = vision.make_transfer_model("scratch", pre, 3)
    losses = vision.train(scratch, pool.x, pool.y, steps=60, lr=1e-2)
    assert losses[-1] < losses[0]
    assert vision.accuracy(scratch, test.x, test.y) > 0.6


def test_layer_views(splits):
    pool, _ = splits
    model = vision.SmallCNN(3, width=4)
    maps = vision.feature_maps(model, pool.x[0])
    assert [tuple(m.shape) for m in maps] == [(4, 8, 8), (8, 8, 8), (16, 4, 4)]
    img = vision.maximise_channel(model, 2, 1, size=8, steps=5)
    assert img.shape == (8, 8) and 0 <= float(img.min()) and float(img.max()) <= 1
    with pytest.raises(ValueError, match="channels"):
        vision.maximise_channel(model, 0, 99)
    assert vision.plot_filters(model) is not None
