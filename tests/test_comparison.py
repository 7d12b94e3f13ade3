"""The one verdict for every comparison: enough seeds, an interval, no claim inside the noise."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from gancourse.comparison import MIN_SEEDS, NO_DIFFERENCE, compare, rank


def test_paired_interval_is_students_t_over_the_per_seed_differences():
    a = {s: 10.0 + d for s, d in enumerate([1, 2, 3, 4, 5])}
    b = dict.fromkeys(range(5), 10.0)
    cmp = compare(a, b, names=("A", "B"), metric="FID", higher_is_better=False)
    half = stats.t.ppf(0.975, 4) * math.sqrt(2.5 / 5)
    assert cmp.paired and cmp.n == (5, 5)
    assert cmp.difference == pytest.approx(3.0)
    assert (cmp.low, cmp.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    # a higher FID is worse, so B wins, and the sentence says so with the interval
    assert cmp.detected and cmp.winner == "B"
    assert cmp.sentence().startswith("B beats A: FID")
    assert "[+1.04, +4.96]" in cmp.sentence()


def test_unpaired_values_get_welchs_interval():
    xs, ys = [1.0, 2.5, 3.0, 4.2, 5.1, 6.0], [0.2, 0.1, 0.9, 0.4, 0.3]
    cmp = compare(xs, ys)
    expected = stats.ttest_ind(xs, ys, equal_var=False).confidence_interval(0.95)
    assert not cmp.paired
    assert (cmp.low, cmp.high) == (pytest.approx(expected.low), pytest.approx(expected.high))


def test_a_paired_design_detects_what_welch_cannot_see_through_the_seeds_spread():
    # seeds differ a lot from each other, but B is always a little better than A
    a = {s: 100.0 * s + 1.0 for s in range(6)}
    b = {s: 100.0 * s for s in range(6)}
    assert compare(a, b).detected
    assert not compare(list(a.values()), list(b.values())).detected


def test_no_claim_with_fewer_than_five_seeds_even_when_the_interval_excludes_zero():
    a, b = {0: 5.0, 1: 5.1, 2: 5.2}, {0: 1.0, 1: 1.05, 2: 1.1}
    cmp = compare(a, b, names=("A", "B"))
    assert cmp.excludes_zero and not cmp.enough_seeds
    assert not cmp.detected and cmp.winner is None
    assert NO_DIFFERENCE in cmp.sentence()
    assert f"fewer than {MIN_SEEDS} runs a side" in cmp.sentence()
    assert "3 runs)" in cmp.sentence()  # paired: one count


def test_an_interval_covering_zero_is_no_difference():
    cmp = compare({s: v for s, v in enumerate([1, -1, 2, -2, 0.5])}, dict.fromkeys(range(5), 0.0))
    assert cmp.enough_seeds and not cmp.excludes_zero
    assert "the interval covers zero" in cmp.sentence()


def test_runs_that_did_not_learn_are_left_out_and_counted():
    a = {s: float(s) for s in range(6)}
    b = {s: float(s) + 10 for s in range(6)}
    learned_b = {s: s != 2 for s in range(6)}
    cmp = compare(a, b, names=("A", "B"), learned_b=learned_b)
    assert cmp.n == (5, 5) and cmp.left_out == (1, 1)  # pairs: seed 2 goes on both sides
    assert "left out: 1 seed(s)" in cmp.sentence()
    nothing = compare(a, b, learned_a=[False] * 6)
    assert nothing.n == (0, 0) and "did not learn" in nothing.sentence()
    assert "nan" not in nothing.sentence()


def test_rank_leaves_out_failures_and_says_when_the_top_two_are_inside_the_noise():
    groups = {
        "scatter": {s: 0.99 for s in range(5)},  # best recall, but these runs failed
        "hinge": dict(enumerate([0.82, 0.75, 0.90, 0.70, 0.88])),
        "lsgan": dict(enumerate([0.85, 0.70, 0.86, 0.74, 0.84])),
    }
    learned = {"scatter": [False] * 5}
    ranking = rank(groups, metric="recall", learned=learned)
    assert ranking.order == ["hinge", "lsgan"]
    assert ranking.not_learned["scatter"] == 5
    text = ranking.sentence()
    assert text.startswith("Best mean recall: hinge")
    assert NO_DIFFERENCE in text and "scatter 5 of 5" in text


def test_rank_does_not_crown_a_setting_from_the_few_runs_that_survived():
    groups = {
        "robust": dict(enumerate([0.76, 0.75, 0.77, 0.74, 0.78])),
        "fragile": dict(enumerate([0.90, 0.70, 0.10, 0.20, 0.15])),  # 2 of 5 learned
    }
    learned = {"fragile": [True, True, False, False, False]}
    ranking = rank(groups, metric="recall", learned=learned)
    assert ranking.order == ["robust"] and ranking.too_few == ["fragile"]
    assert "Not ranked, with fewer than 5 runs that learned: fragile (2)" in ranking.sentence()


def test_a_paired_comparison_counts_seeds_left_out_not_runs_of_the_healthy_side():
    a = {s: float(s) for s in range(6)}
    b = {s: float(s) + 1 for s in range(6)}
    cmp = compare(a, b, names=("A", "B"), learned_a={s: s != 0 for s in range(6)})
    assert "left out: 1 seed(s) where the run of A or of B did not learn" in cmp.sentence()


@pytest.mark.parametrize(
    "bad, message",
    [("abc", "expected a dict seed -> value or a list"), ([1.0, float("nan")], "finite")],
)
def test_bad_values_are_refused_with_what_was_expected(bad, message):
    with pytest.raises((TypeError, ValueError), match=message):
        compare(bad, [1.0, 2.0])
