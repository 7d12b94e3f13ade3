"""The memorisation check: nearest neighbours, the figure and the data-copying test."""

from __future__ import annotations

import pytest
import torch

from gancourse.metrics import memorisation
from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.memorisation import (
    copy_fraction,
    data_copying_test,
    memorisation_figure,
    nearest_neighbours,
)


class TinyExtractor(FeatureExtractor):
    """A small random conv net: features that are not the pixels."""

    name = "tiny-features"
    feature_dim = 8
    num_classes = 2
    channels = 1

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(2),
            torch.nn.Flatten(),
        )
        self.head = torch.nn.Linear(16, 2)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)[:, : self.feature_dim]

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


# ----------------------------------------------------------------------------- nearest neighbours


def test_exact_copies_find_themselves_at_distance_zero():
    references = torch.rand(60, 1, 8, 8) * 2 - 1
    picked = torch.tensor([3, 17, 42, 59])
    dist, idx = nearest_neighbours(references[picked], references, value_range=(-1, 1))
    assert idx.shape == (4, 1) and idx[:, 0].tolist() == picked.tolist()
    assert dist.dtype == torch.float64 and torch.all(dist == 0)


@pytest.mark.parametrize("reference_chunk", [None, 7])
def test_neighbours_are_sorted_and_match_brute_force_in_batches(reference_chunk, monkeypatch):
    if reference_chunk:  # 7 references per distance block: the running top-k merge is exact
        monkeypatch.setattr(memorisation, "REFERENCE_ELEMENTS", 48 * reference_chunk)
    queries, references = torch.rand(37, 3, 4, 4), torch.rand(50, 3, 4, 4)
    dist, idx = nearest_neighbours(queries, references, k=5, batch_size=8)
    brute = torch.cdist(queries.flatten(1).double(), references.flatten(1).double())
    expected = brute.sort(dim=1)
    assert torch.equal(idx, expected.indices[:, :5])
    assert torch.allclose(dist, expected.values[:, :5])
    assert torch.all(dist[:, 1:] >= dist[:, :-1])
    loo_dist, loo_idx = nearest_neighbours(
        references, references, k=3, batch_size=8, exclude_self=True
    )
    self_brute = torch.cdist(references.flatten(1).double(), references.flatten(1).double())
    self_brute.fill_diagonal_(float("inf"))
    assert torch.equal(loo_idx, self_brute.sort(dim=1).indices[:, :3])


def test_pixel_distances_are_measured_in_zero_one_units():
    black, white = -torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    dist, _ = nearest_neighbours(black, white, value_range=(-1, 1))
    assert dist.item() == pytest.approx(2.0)  # four pixels, each 1 apart in [0, 1]
    dist, _ = nearest_neighbours(torch.zeros(1, 3), torch.ones(1, 3) * 2)  # plain vectors
    assert dist.item() == pytest.approx(12**0.5)


def test_feature_mode_uses_the_extractor_and_still_finds_copies():
    extractor = TinyExtractor().eval()
    references = torch.rand(40, 1, 10, 10)
    queries = torch.cat([references[[7, 21]], torch.rand(3, 1, 10, 10)])
    dist, idx = nearest_neighbours(queries, references, k=2, extractor=extractor, batch_size=16)
    assert idx[:2, 0].tolist() == [7, 21] and torch.all(dist[:2, 0] < 1e-5)
    feats = torch.cdist(
        extractor.features(queries).double(), extractor.features(references).double()
    )
    assert torch.equal(idx, feats.topk(2, dim=1, largest=False).indices)
    pixel_dist, _ = nearest_neighbours(queries, references, k=2)
    assert not torch.allclose(pixel_dist, dist)  # a different space, different distances
    with pytest.raises(ValueError, match="value_range"):  # Tanh images need the range
        nearest_neighbours(queries * 2 - 1, references * 2 - 1, extractor=extractor)


def test_exclude_self_gives_leave_one_out_distances():
    x = torch.rand(30, 1, 4, 4)
    x[9] = x[5]  # one duplicate pair
    dist, idx = nearest_neighbours(x, x, k=2, exclude_self=True)
    assert torch.all(idx != torch.arange(30)[:, None])
    assert idx[5, 0] == 9 and idx[9, 0] == 5 and dist[5, 0] == 0
    assert (dist[:, 0] == 0).sum() == 2  # only the duplicated pair is at distance 0


# ----------------------------------------------------------------------------- the figure


def test_memorisation_figure_shows_each_sample_and_its_neighbours():
    training = torch.rand(20, 1, 6, 6) * 2 - 1
    generated = training[:4] + 0.01
    dist, idx = nearest_neighbours(generated, training, k=3, value_range=(-1, 1))
    fig = memorisation_figure(generated, training, idx, distances=dist)
    assert len(fig.axes) == 4 * 4
    assert all(len(ax.images) == 1 for ax in fig.axes)
    colour = memorisation_figure(
        torch.rand(2, 3, 5, 5), torch.rand(6, 3, 5, 5), torch.tensor([[0], [5]]), value_range=(0, 1)
    )
    assert len(colour.axes) == 4 and colour.axes[0].images[0].get_array().shape == (5, 5, 3)


# ----------------------------------------------------------------------------- data-copying test


def test_data_copying_statistic_counts_pairs_and_ties():
    out = data_copying_test(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 5.0]))
    assert out["closer_probability"] == pytest.approx(6 / 9)  # 5 pairs closer, 2 ties
    assert out["median_ratio"] == pytest.approx(1.0)
    two_columns = data_copying_test(torch.tensor([[1.0, 9.0]]), torch.tensor([[2.0, 0.0]]))
    assert two_columns["closer_probability"] == 1.0  # only the nearest column is used


def test_a_copying_generator_is_caught_and_an_honest_one_is_not(mnist_digits):
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(0))  # mix the classes
    parts = ((0, 2000), (2000, 2300), (2300, 2600))
    train, held_out, unseen = (mnist_digits[order[a:b]] for a, b in parts)
    copier = (train[:300] + 0.05 * torch.randn(300, 1, 28, 28)).clamp(-1, 1)  # noisy copies
    kw = dict(value_range=(-1, 1), batch_size=300)
    real_d, _ = nearest_neighbours(held_out, train, **kw)
    copy_d, copy_idx = nearest_neighbours(copier, train, **kw)
    honest_d, _ = nearest_neighbours(unseen, train, **kw)  # real digits G could not have seen
    assert torch.equal(copy_idx[:, 0], torch.arange(300))
    copying, honest = data_copying_test(copy_d, real_d), data_copying_test(honest_d, real_d)
    # Measured over five orders: copying 1.00, z 21, ratio 0.10, copy fraction 1.00;
    # honest 0.47-0.54, |z| < 1.8, copy fraction 0.007-0.03; blank 0.02-0.06.
    assert copying["closer_probability"] > 0.95 and copying["z"] > 10
    assert copying["median_ratio"] < 0.5
    assert abs(honest["closer_probability"] - 0.5) < 0.1 and abs(honest["z"]) < 3
    assert copy_fraction(copy_d, real_d) > 0.9 and copy_fraction(honest_d, real_d) < 0.05
    blank = torch.full((300, 1, 28, 28), -0.5)  # nothing like a digit: farther than real data
    blank_d, _ = nearest_neighbours(blank, train, **kw)
    assert data_copying_test(blank_d, real_d)["closer_probability"] < 0.15


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("queries", "references", "kwargs", "message"),
    [
        (torch.rand(4, 1, 8, 8), torch.rand(9, 1, 7, 7), {}, "same shape per sample"),
        (torch.rand(4), torch.rand(9, 4), {}, r"batches \(N, ...\)"),
        (torch.rand(4, 3), torch.rand(9, 3), {"k": 10}, "from 1 to 9"),
        (torch.rand(4, 3), torch.rand(9, 3), {"k": 0}, "from 1 to 9"),
        (torch.rand(4, 3), torch.rand(9, 3), {"exclude_self": True}, "the same set"),
        (torch.rand(4, 3), torch.rand(4, 3), {"exclude_self": True, "k": 4}, "from 1 to 3"),
        (torch.rand(4, 3), torch.rand(9, 3), {"value_range": (1, 0)}, "low < high"),
        (torch.rand(4, 3), torch.rand(9, 3), {"batch_size": 0}, "batch_size"),
    ],
)
def test_nearest_neighbours_bad_input(queries, references, kwargs, message):
    with pytest.raises(ValueError, match=message):
        nearest_neighbours(queries, references, **kwargs)


def test_figure_and_test_bad_input():
    gen, train = torch.rand(3, 1, 4, 4), torch.rand(5, 1, 4, 4)
    with pytest.raises(ValueError, match=r"shape \(N, k\) with N = 3"):
        memorisation_figure(gen, train, torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="indices into the 5 training images"):
        memorisation_figure(gen, train, torch.full((3, 1), 5))
    with pytest.raises(ValueError, match=r"\(N, 1 or 3, H, W\)"):
        memorisation_figure(gen[:, 0], train, torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="distances >= 0"):
        data_copying_test(torch.tensor([-1.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="quantile"):
        copy_fraction(torch.tensor([1.0]), torch.tensor([1.0]), quantile=1.5)
    with pytest.raises(TypeError, match="FeatureExtractor"):
        nearest_neighbours(gen, train, extractor=torch.nn.Identity())
