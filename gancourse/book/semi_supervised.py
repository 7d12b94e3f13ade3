"""Semi-supervised learning with a GAN's discriminator: reuse its features, label only a few images.

To tell real images from fakes, D has to learn what digits look like: strokes, loops, where ink
goes. That knowledge is paid for with unlabelled images only. Goodfellow et al. (2014) suggested
reusing it "when limited labeled data is available"; Radford et al. (2015) trained linear
classifiers on a DCGAN discriminator's features, and Odena (2016) and Salimans et al. (2016)
went further and let D itself output the classes.

This module does the simplest version, a *linear probe*:

1. train a GAN on unlabelled images;
2. `discriminator_features(D, images)`: the activations that enter D's last linear layer (its
   penultimate features), one vector per image;
3. `labelled_subset(labels, per_class)`: pretend only a few images (e.g. 10 per class) have
   labels;
4. `linear_probe(...)`: fit a multinomial logistic regression on those few feature vectors and
   measure its accuracy on held-out images. The same probe on raw pixels is the baseline.

`load_train_test` gives a training set and a disjoint held-out set, also offline (where the
5,000-digit MNIST sample has no test split).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import torch
from torch import nn

from gancourse.checks import check_tensor, describe
from gancourse.models.base import eval_mode

__all__ = [
    "ProbeResult",
    "discriminator_features",
    "labelled_subset",
    "linear_probe",
    "load_train_test",
]


@torch.no_grad()
def discriminator_features(
    D: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    batch_size: int = 500,
    layers: str = "last",
) -> torch.Tensor:
    """D's features of `images`, (N, d) float32 on the CPU, computed in eval mode (no dropout;
    D's mode is restored).

    `layers="last"`: the penultimate features, the input of D's last `nn.Linear`. `"all"`: the
    inputs of every `nn.Linear` but the first (for an MLP, all its hidden layers), concatenated,
    as Radford et al. pooled features from all of D's layers. `images` are in the range D was
    trained on (e.g. [-1, 1] for the Tanh models). A conditional D also needs `labels`.
    """
    images = check_tensor(images, "images")
    if not isinstance(D, nn.Module):
        raise TypeError(f"D: expected a discriminator (torch.nn.Module), received {describe(D)}")
    if images.dim() < 2 or images.shape[0] < 1:
        raise ValueError(f"images: expected a batch (N, C, H, W), received {describe(images)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, received {batch_size!r}")
    if layers not in ("last", "all"):
        raise ValueError(f"layers: expected 'last' or 'all', received {layers!r}")
    linears = [m for m in D.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(
            f"D: expected a network ending in an nn.Linear layer, received {type(D).__name__} "
            "without one"
        )
    if layers == "all" and len(linears) < 2:
        raise ValueError(
            f"layers='all': expected a D with at least two nn.Linear layers, received "
            f"{type(D).__name__} with {len(linears)}; use layers='last'"
        )
    chosen = linears[-1:] if layers == "last" else linears[1:]
    captured: list[list[torch.Tensor]] = [[] for _ in chosen]

    def keeper(i: int):
        return lambda module, inputs: captured[i].append(inputs[0].detach().flatten(1).float())

    hooks = [m.register_forward_pre_hook(keeper(i)) for i, m in enumerate(chosen)]
    param = next(D.parameters())
    try:
        with eval_mode(D):
            for start in range(0, images.shape[0], batch_size):
                X = images[start : start + batch_size].to(param.device, param.dtype)
                if labels is None:
                    D(X)
                else:
                    D(X, labels[start : start + batch_size].to(param.device))
    finally:
        for hook in hooks:
            hook.remove()
    return torch.cat([torch.cat(parts) for parts in captured], dim=1).cpu()


def labelled_subset(labels: torch.Tensor, per_class: int = 10, seed: int = 0) -> torch.Tensor:
    """Indices of `per_class` randomly chosen examples of every class (sorted): the few images
    whose labels a semi-supervised learner is allowed to see."""
    labels = check_tensor(labels, "labels", floating=False)
    if labels.is_floating_point() or labels.dim() != 1:
        raise ValueError(f"labels: expected integer class labels (N,), received {describe(labels)}")
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class: expected a positive int, received {per_class!r}")
    rng = torch.Generator().manual_seed(seed)
    chosen = []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        if len(members) < per_class:
            raise ValueError(
                f"labels: expected at least per_class={per_class} examples of class {c}, "
                f"received {len(members)}"
            )
        chosen.append(members[torch.randperm(len(members), generator=rng)[:per_class]])
    return torch.cat(chosen).sort().values


@dataclass
class ProbeResult:
    """A fitted linear probe: train and test accuracy, and the classifier itself."""

    train_accuracy: float
    test_accuracy: float
    classifier: nn.Linear  # on standardised features: (x - mean) / std
    mean: torch.Tensor
    std: torch.Tensor

    @torch.no_grad()
    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """Predicted classes (N,) of features from the same extractor."""
        x = (features.float().flatten(1) - self.mean) / self.std
        return self.classifier(x).argmax(1)


def linear_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    weight_decay: float = 1e-2,
    steps: int = 200,
    num_classes: int | None = None,
) -> ProbeResult:
    """Multinomial logistic regression on `train_features`, scored on `test_features`.

    The features are standardised with the training set's mean and std, then a linear layer is
    fitted by full-batch L-BFGS on the cross-entropy plus `weight_decay` * ||W||^2 / 2 (with
    few labels and many features, the penalty is what keeps the fit from memorising). Images
    can be passed as features too: they are flattened (the raw-pixel baseline).
    """
    xs = [
        check_tensor(x, name).detach().float().flatten(1).cpu()
        for x, name in ((train_features, "train_features"), (test_features, "test_features"))
    ]
    ys = [
        _check_targets(y, len(x), name)
        for y, x, name in (
            (train_labels, xs[0], "train_labels"),
            (test_labels, xs[1], "test_labels"),
        )
    ]
    if xs[0].shape[1] != xs[1].shape[1]:
        raise ValueError(
            f"train_features and test_features: expected the same feature length, received "
            f"{xs[0].shape[1]} and {xs[1].shape[1]}"
        )
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay: expected a number >= 0, received {weight_decay!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive int, received {steps!r}")
    classes = num_classes or int(max(ys[0].max(), ys[1].max()).item()) + 1
    mean, std = xs[0].mean(0), xs[0].std(0).clamp_min(1e-6)
    x_train, x_test = (xs[0] - mean) / std, (xs[1] - mean) / std
    torch.manual_seed(0)
    classifier = nn.Linear(x_train.shape[1], classes)
    nn.init.zeros_(classifier.weight)
    nn.init.zeros_(classifier.bias)
    opt = torch.optim.LBFGS(
        classifier.parameters(), lr=1, max_iter=steps, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(classifier(x_train), ys[0])
        loss = loss + weight_decay / 2 * classifier.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        train_acc = (classifier(x_train).argmax(1) == ys[0]).float().mean().item()
        test_acc = (classifier(x_test).argmax(1) == ys[1]).float().mean().item()
    return ProbeResult(train_acc, test_acc, classifier.requires_grad_(False), mean, std)


def load_train_test(name: str = "mnist", held_out: int = 1000, **kwargs):
    """A training `ImageSet` and a disjoint held-out `ImageSet` of `name`.

    Normally the held-out set is the data set's test split (`held_out` images of it; None: all).
    Offline, MNIST falls back to a 5,000-digit sample with no test split; then the last
    `held_out` images of that sample are held out and the training set keeps the rest, so the
    two never share an image. `kwargs` go to `gancourse.load_images` (value_range, limit...).
    """
    from gancourse.data import load_images

    limit = kwargs.pop("limit", None)
    train = load_images(name, train=True, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the offline warning was already shown for train
        test = load_images(name, train=False, **kwargs)
    if test.source == train.source:  # no separate test split: hold out the tail of the data
        if held_out is None or not 0 < held_out < len(train):
            raise ValueError(
                f"held_out: expected an int in 1..{len(train) - 1} to split the {len(train)} "
                f"images, received {held_out!r}"
            )
        cut = len(train) - held_out
        test = _subset(train, slice(cut, None), "held-out tail of ")
        train = _subset(train, slice(0, cut), "")
    elif held_out is not None:
        test = _subset(test, slice(0, held_out), "")
    if limit is not None:
        train = _subset(train, slice(0, limit), "")
    return train, test


def _subset(data, index: slice, prefix: str):
    labels = data.labels[index] if data.labels is not None else None
    return replace(data, images=data.images[index], labels=labels, source=prefix + data.source)


def _check_targets(y: object, n: int, name: str) -> torch.Tensor:
    y = check_tensor(y, name, floating=False)
    if y.is_floating_point() or y.dim() != 1 or len(y) != n:
        raise ValueError(
            f"{name}: expected integer class labels of shape ({n},), one per feature vector, "
            f"received {describe(y)}"
        )
    if (y < 0).any():
        raise ValueError(f"{name}: expected class labels >= 0, received negative values")
    return y.long().cpu()
