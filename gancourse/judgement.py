"""Did a run learn? One judgement for every run the book shows, before anything is ranked.

A sample grid of grey noise has an FID too, and a scatter over the whole plane has a recall;
numbers from runs that learned nothing rank nothing and explain nothing. So every image run a
page shows is judged first, and a page that ranks or explains runs leaves out those that did
not learn (and says how many):

- **digits** (`judge_digits`): the shipped MNIST classifier reads the samples. A generator
  that learned draws images the classifier reads with confidence, and draws every digit.
  The thresholds are calibrated on the course's shipped generators (`load_pretrained`):
  the weakest of them, dcgan32, has 61% of its samples read with confidence above 0.9 and
  every digit between 7% and 12% (2,000 samples); an untrained generator has 0-1%.
- **a conditional generator** (`judge_conditional`): also, does it draw the digit it is asked
  for, for every digit, and does z still change the drawing?
- **2-D toys** (`judge_toy`): most samples must be high-quality ones (within 3 standard
  deviations of a mode), and a mode counts as covered only with a minimum share of them
  (`GaussianMixture2D.mode_coverage`), so a uniform scatter neither learned nor covers.

Each judgement has a verdict ("learned", "mode collapse" or "did not learn"), a sentence
with the numbers behind it, and those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from gancourse.checks import describe

__all__ = [
    "LEARNED",
    "MIN_CLASS_SHARE",
    "MIN_HIGH_QUALITY",
    "MIN_OBEYED",
    "MIN_SHARE_CONFIDENT",
    "MIN_VARIETY",
    "MODE_COLLAPSE",
    "NOT_LEARNED",
    "Judgement",
    "judge_conditional",
    "judge_digits",
    "judge_generator",
    "judge_toy",
]

LEARNED, MODE_COLLAPSE, NOT_LEARNED = "learned", "mode collapse", "did not learn"

MIN_SHARE_CONFIDENT = 0.25  # share read with confidence > 0.9 (shipped: 0.61-0.81; untrained ~0)
MIN_CLASS_SHARE = 0.02  # every digit at least this share of the readings (shipped: >= 0.05)
MIN_OBEYED = 0.5  # a conditional G draws each asked-for digit at least this often (shipped 0.89)
MIN_VARIETY = 0.35  # spread across z over real digits' spread, per class (shipped: 0.67)
MIN_HIGH_QUALITY = 0.5  # toys: share of samples within 3 std of a mode (real ring data: 0.99)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one run, the sentence that explains it, and the numbers behind it."""

    verdict: str  # LEARNED, MODE_COLLAPSE or NOT_LEARNED
    reason: str  # one sentence with the numbers
    measures: dict[str, Any] = field(default_factory=dict)

    @property
    def learned(self) -> bool:
        """False only for "did not learn": a collapsed run learned part of the data, and
        rankings keep it (collapse is what they often measure); a failed one they leave out."""
        return self.verdict != NOT_LEARNED

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}"


def judge_digits(
    images: torch.Tensor,
    value_range: tuple[float, float] = (-1.0, 1.0),
    classifier: Any = None,
) -> Judgement:
    """Judge generated digits (N, 1, H, W), pixels in `value_range`, by the MNIST classifier.

    Did not learn: fewer than MIN_SHARE_CONFIDENT of them read with confidence. Mode collapse:
    readable, but some digit makes up less than MIN_CLASS_SHARE of the readings. Colour images
    (N, 3, H, W) are converted to grey first.
    """
    from gancourse.metrics.digit_reading import CONFIDENT, as_mnist_digits, read_digits

    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images: expected a tensor (N, 1 or 3, H, W), received {describe(images)}"
        )
    if len(images) < 100:
        raise ValueError(
            f"images: expected at least 100 samples to judge by class shares, received "
            f"{len(images)}"
        )
    images = as_mnist_digits(images, value_range)
    reading = read_digits(images, (0.0, 1.0), classifier)
    shares = reading.class_shares
    measures = {
        "share_confident": reading.share_confident,
        "mean_confidence": reading.mean_confidence,
        "class_shares": shares,
        "num_samples": len(images),
    }
    confident = f"{reading.share_confident:.0%} of {len(images):,} samples"
    if reading.share_confident < MIN_SHARE_CONFIDENT:
        return Judgement(
            NOT_LEARNED,
            f"the MNIST classifier reads only {confident} with confidence above {CONFIDENT} "
            f"(a generator that learned: at least {MIN_SHARE_CONFIDENT:.0%})",
            measures,
        )
    rare = [d for d, s in enumerate(shares) if s < MIN_CLASS_SHARE]
    if rare:
        listed = ", ".join(str(d) for d in rare)
        return Judgement(
            MODE_COLLAPSE,
            f"{confident} read with confidence, but digit(s) {listed} make up less than "
            f"{MIN_CLASS_SHARE:.0%} of the readings each: it does not draw every digit",
            measures,
        )
    return Judgement(
        LEARNED,
        f"{confident} read with confidence above {CONFIDENT}, and every digit drawn "
        f"({min(shares):.0%} to {max(shares):.0%} of the readings)",
        measures,
    )


@torch.no_grad()
def judge_generator(
    G: torch.nn.Module,
    num_samples: int = 1000,
    seed: int = 0,
    classifier: Any = None,
    latent_dist: str = "normal",
) -> Judgement:
    """Draw `num_samples` digits from an unconditional G (eval mode, fixed seed, z from
    `latent_dist`: 'uniform' for dcgan28) and judge them."""
    from gancourse.latent import generate_images
    from gancourse.models import OUTPUT_RANGES
    from gancourse.training import sample_noise

    latent_dim = getattr(G, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise TypeError(f"G: expected a course generator with latent_dim, received {describe(G)}")
    rng = torch.Generator().manual_seed(seed)
    noise = sample_noise(num_samples, latent_dim, latent_dist, generator=rng)
    images = generate_images(G, noise)
    value_range = OUTPUT_RANGES[getattr(G, "output_range", "tanh")]
    return judge_digits(images, value_range, classifier)


@torch.no_grad()
def judge_conditional(
    G: torch.nn.Module,
    real_images: torch.Tensor,
    real_labels: torch.Tensor,
    per_digit: int = 100,
    seed: int = 0,
    classifier: Any = None,
) -> Judgement:
    """Judge a conditional digit generator: readable, obedient to its label, varied in z.

    Obedience: the share of the samples asked for digit d that the classifier reads as d, for
    every d. Variety: the pixel spread across z for a fixed digit over the spread of real
    digits of that class (`real_images` in [-1, 1] or [0, 1] like G's output, `real_labels`),
    averaged over the digits. A generator that ignores z draws one image per row: variety ~0.
    """
    from gancourse.metrics.digit_reading import read_digits
    from gancourse.models import OUTPUT_RANGES
    from gancourse.models.conditional import generate

    if real_images.dim() != 4 or len(real_images) != len(real_labels):
        raise ValueError(
            f"real_images, real_labels: expected (N, 1, H, W) images and N labels, received "
            f"{describe(real_images)} and {describe(real_labels)}"
        )
    lo, hi = OUTPUT_RANGES[getattr(G, "output_range", "tanh")]
    rng = torch.Generator().manual_seed(seed)
    Z = torch.randn(per_digit, G.latent_dim, generator=rng)
    per_class = [generate(G, d, Z=Z).float() for d in range(10)]
    images = torch.cat(per_class)
    asked = torch.arange(10).repeat_interleave(per_digit)
    reading = read_digits(images, (lo, hi), classifier)
    obeyed = [(reading.digits[asked == d] == d).double().mean().item() for d in range(10)]
    spread = [x.std(dim=0).mean().item() for x in per_class]
    real_spread = []
    for d in range(10):
        mine = real_images[real_labels == d][:per_digit].float()
        if len(mine) < 2:
            raise ValueError(f"real_labels: expected at least 2 real images of digit {d}")
        real_spread.append(mine.std(dim=0).mean().item())
    variety = sum(s / r for s, r in zip(spread, real_spread, strict=True)) / 10
    measures = {
        "share_confident": reading.share_confident,
        "obeyed": obeyed,
        "obeyed_mean": sum(obeyed) / 10,
        "variety": variety,
    }
    if reading.share_confident < MIN_SHARE_CONFIDENT:
        return Judgement(
            NOT_LEARNED,
            f"the MNIST classifier reads only {reading.share_confident:.0%} of its samples with "
            f"confidence (a generator that learned: at least {MIN_SHARE_CONFIDENT:.0%})",
            measures,
        )
    disobeyed = [d for d in range(10) if obeyed[d] < MIN_OBEYED]
    if disobeyed:
        listed = ", ".join(f"{d} ({obeyed[d]:.0%})" for d in disobeyed)
        return Judgement(
            NOT_LEARNED,
            f"it does not draw the digit it is asked for: asked for {listed}, it draws that "
            f"digit less than {MIN_OBEYED:.0%} of the time",
            measures,
        )
    if variety < MIN_VARIETY:
        return Judgement(
            MODE_COLLAPSE,
            f"it obeys its label, but its drawings of one digit vary across z only "
            f"{variety:.0%} as much as real digits do (at least {MIN_VARIETY:.0%} expected): "
            f"close to one image per digit",
            measures,
        )
    return Judgement(
        LEARNED,
        f"it draws the asked-for digit {min(obeyed):.0%} to {max(obeyed):.0%} of the time per "
        f"digit, and its drawings vary across z {variety:.0%} as much as real digits do",
        measures,
    )


def judge_toy(target: Any, fake: torch.Tensor) -> Judgement:
    """Judge 2-D samples `fake` (n, 2) of a mixture `target` (e.g. `ring()`).

    Did not learn: fewer than MIN_HIGH_QUALITY of the samples are high-quality ones (within 3
    standard deviations of a mode). Mode collapse: on the data, but not every mode covered
    (a mode needs its minimum share of high-quality samples, see `mode_coverage`).
    """
    if not hasattr(target, "mode_coverage"):
        raise ValueError(
            f"target: expected a mixture with modes (e.g. distributions.ring()), received "
            f"{describe(target)}"
        )
    if not isinstance(fake, torch.Tensor) or fake.dim() != 2 or fake.shape[1] != 2:
        raise ValueError(f"fake: expected points of shape (n, 2), received {describe(fake)}")
    modes, quality = target.mode_coverage(fake.detach().float().cpu())
    measures = {"modes": modes, "num_modes": target.num_modes, "high_quality": quality}
    on_data = f"{quality:.0%} of the samples lie within 3 standard deviations of a mode"
    if quality < MIN_HIGH_QUALITY:
        return Judgement(
            NOT_LEARNED,
            f"only {on_data} (a run that learned: at least {MIN_HIGH_QUALITY:.0%}); "
            f"its samples are not on the data",
            measures,
        )
    if modes < target.num_modes:
        return Judgement(
            MODE_COLLAPSE, f"{on_data}, but cover {modes} of {target.num_modes} modes", measures
        )
    return Judgement(LEARNED, f"{on_data}, covering all {modes} modes", measures)
