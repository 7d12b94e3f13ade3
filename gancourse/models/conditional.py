"""A conditional GAN (Mirza & Osindero 2014): G and D both receive the class label c.

Goodfellow et al. (2014) list it as the first extension of their framework: a conditional model
p(x | c) is obtained by adding c as an input to both networks. Here c is a class index (an MNIST
digit), turned into a learnt vector of `EMBEDDING_DIM` numbers by an embedding table (equivalent
to a one-hot vector times a weight matrix) and concatenated:

    G(z, c) = MLP([z, embed_G(c)])                   -> an image of class c
    D(x, c) = MLP([flatten(x), embed_D(c)])          -> is x a real image *of class c*?

The two MLPs are the vanilla GAN's (256-512-1024 in G, 512-256 in D), with wider input layers.
D now judges image and label together, so G cannot fool it with a good "3" when asked for a "7":
the label becomes a handle on what G draws, which an unconditional GAN does not offer.

`gancourse.train` trains a conditional pair on labelled data (an `ImageSet` with labels, or an
`(images, labels)` pair): the fakes of each step are drawn for the labels of the real minibatch.
`generate(G, digit, n)` draws `n` images of one class.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import torch
from torch import nn

from gancourse.checks import check_batch, describe
from gancourse.models.base import Discriminator, Generator, eval_mode
from gancourse.models.vanilla import vanilla_generator_body

# Length of the learnt label vector. With 10 numbers next to D's 784 pixels the label was easy to
# ignore: on the 4,000-digit MNIST sample, 10 epochs gave generated digits that the MNIST
# classifier read as the requested class 18% of the time with 10, 38% with 50 (one run each).
EMBEDDING_DIM = 50

# LABEL_SCALE: nn.Embedding starts its vectors at N(0, 1), a label vector as long as z itself
# (norm about 7 for 50 numbers, against about 10 for z). With labels that loud, G learnt one image
# per digit and ignored z: after 100 epochs of the 5k sample, the pixel spread across z for a
# fixed digit was 0.03 of real digits'. Started at std 0.3 (norm about 2), 40 epochs gave 0.81 of
# the real spread and the asked-for digit 83% of the time (scripts/train_pretrained.py measures
# both; 10 numbers at std 1 gave 0.23, a one-hot start 0.86).
LABEL_SCALE = 0.3


class ConditionalGenerator(Generator):
    """MLP generator of p(x | c): [z, embedding(c)] -> 256 -> 512 -> 1024 -> image (Tanh).

    The vanilla G's body, without its dropout by default: in training mode dropout adds a
    variety that eval mode removes, so a G that ignores z can look varied while it trains. The
    label vectors start small (see LABEL_SCALE) so that z is not drowned out.

    Called as G(Z, labels); without labels it draws the classes 0, 1, ..., C-1, 0, 1, ... in
    turn, so code written for unconditional generators (FID, sample grids) still works and sees
    every class equally often.
    """

    def __init__(
        self,
        num_classes: int = 10,
        latent_dim: int = 100,
        image_shape: Sequence[int] = (1, 28, 28),
        embedding_dim: int = EMBEDDING_DIM,  # length of the label vector
        negative_slope: float = 0.2,  # LeakyReLU slope, as in the vanilla G
        dropout: float = 0.0,  # before the last layer (the vanilla G has 0.3)
    ) -> None:
        super().__init__(latent_dim, image_shape, "tanh")
        self.num_classes = _check_num_classes(num_classes)
        self.embedding_dim = _check_embedding_dim(embedding_dim)
        self.embed = nn.Embedding(self.num_classes, self.embedding_dim)  # (N,) -> (N, E)
        nn.init.normal_(self.embed.weight, std=LABEL_SCALE)
        # the vanilla generator's body, fed z and the label vector side by side
        self.net = vanilla_generator_body(
            self.latent_dim + self.embedding_dim, prod(self.image_shape), negative_slope, dropout
        )

    def forward(self, Z: torch.Tensor, labels: torch.Tensor | int | None = None) -> torch.Tensor:
        check_batch(Z, (self.latent_dim,), f"{type(self).__name__} input Z")
        labels = check_labels(labels, Z.shape[0], self.num_classes, Z.device, balanced=True)
        h = torch.cat([Z, self.embed(labels).to(Z.dtype)], dim=1)  # (N, latent_dim + E)
        return self.net(h).reshape(Z.shape[0], *self.image_shape)


class ConditionalDiscriminator(Discriminator):
    """MLP discriminator of (x, c) pairs: [flatten(x), embedding(c)] -> 512 -> 256 -> 1 score.

    Called as D(X, labels); the labels are required (a real "3" presented as a "7" should be
    judged fake, so D cannot judge an image without its label).
    """

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        outputs: str = "logits",  # 'probs' adds a final Sigmoid
        embedding_dim: int = EMBEDDING_DIM,  # length of the label vector
        negative_slope: float = 0.2,  # LeakyReLU slope
        dropout: float = 0.3,  # on the input, as in the vanilla D
    ) -> None:
        super().__init__(image_shape, outputs)
        self.num_classes = _check_num_classes(num_classes)
        self.embedding_dim = _check_embedding_dim(embedding_dim)
        self.embed = nn.Embedding(self.num_classes, self.embedding_dim)  # (N,) -> (N, E)
        self.net = nn.Sequential(
            nn.Dropout(dropout),  # (N, 784 + E)
            nn.Linear(prod(self.image_shape) + self.embedding_dim, 512),  # (N, 512)
            nn.LeakyReLU(negative_slope),  # (N, 512)
            nn.Linear(512, 256),  # (N, 256): the features a linear probe can reuse
            nn.LeakyReLU(negative_slope),  # (N, 256)
            nn.Linear(256, 1),  # (N, 1) logit
        )

    def forward(self, X: torch.Tensor, labels: torch.Tensor | int | None = None) -> torch.Tensor:
        check_batch(X, self.image_shape, f"{type(self).__name__} input X")
        if labels is None:
            raise ValueError(
                f"{type(self).__name__}: expected the labels of the images, D(X, labels), "
                "received none; a conditional discriminator judges image and label together"
            )
        labels = check_labels(labels, X.shape[0], self.num_classes, X.device)
        return self.output_activation(self.score(X, labels))

    def score(self, X: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The logit of (X, labels), shape (N, 1)."""
        h = torch.cat([X.flatten(1), self.embed(labels).to(X.dtype)], dim=1)  # (N, 784 + E)
        return self.net(h)


def is_conditional(model: nn.Module) -> bool:
    """True for models that take class labels as a second input (they have `num_classes`)."""
    return isinstance(getattr(model, "num_classes", None), int) and isinstance(
        model, Generator | Discriminator
    )


def check_labels(
    labels: object,
    n: int,
    num_classes: int,
    device: torch.device | str = "cpu",
    *,
    balanced: bool = False,
) -> torch.Tensor:
    """Class labels as an int64 tensor (n,) on `device`, or a clear error.

    Accepts a tensor (n,) of integers, one int (the same class n times), or None when
    `balanced` (then the classes 0, 1, ..., C-1, 0, 1, ... in turn).
    """
    if labels is None:
        if not balanced:
            raise ValueError(f"labels: expected {n} class labels, received None")
        return torch.arange(n, device=device) % num_classes
    if isinstance(labels, bool):
        raise TypeError(f"labels: expected an int or an integer tensor, received {labels!r}")
    if isinstance(labels, int):
        labels = torch.full((n,), labels, dtype=torch.int64, device=device)
    if not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"labels: expected an integer tensor of shape ({n},) or an int, received "
            f"{describe(labels)}"
        )
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(
            f"labels: expected integer class indices, received {describe(labels)}; "
            "convert with .long()"
        )
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(
            f"labels: expected one label per image, shape ({n},), received {describe(labels)}"
        )
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels: expected class indices in 0..{num_classes - 1}, received values in "
            f"[{labels.min().item()}, {labels.max().item()}]"
        )
    return labels.to(device=device, dtype=torch.int64)


@torch.no_grad()
def generate(
    G: ConditionalGenerator,
    label: int | torch.Tensor,
    n: int = 8,
    *,
    Z: torch.Tensor | None = None,
    seed: int | None = 0,
) -> torch.Tensor:
    """`n` images of class `label` from a conditional generator: (n, C, H, W) on the CPU.

    Made in eval mode without gradients (G's mode is restored). `Z` fixes the noise (then `n` is
    its length); otherwise it is drawn from N(0, I) with `seed` (None: the global generator).
    `label` may also be a tensor of n labels.
    """
    if not is_conditional(G) or not isinstance(G, Generator):
        raise TypeError(
            f"G: expected a conditional generator (with num_classes), received {describe(G)}"
        )
    param = next(G.parameters())
    if Z is None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected a positive int, received {n!r}")
        rng = torch.Generator().manual_seed(seed) if seed is not None else None
        Z = torch.randn(n, G.latent_dim, generator=rng)
    Z = Z.to(param.device, param.dtype)
    labels = check_labels(label, Z.shape[0], G.num_classes, param.device)
    with eval_mode(G):
        images = G(Z, labels)
    return images.float().cpu()


def _check_num_classes(num_classes: object) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes: expected an int >= 2, received {num_classes!r}")
    return num_classes


def _check_embedding_dim(embedding_dim: object) -> int:
    if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
        raise ValueError(f"embedding_dim: expected a positive int, received {embedding_dim!r}")
    return embedding_dim
