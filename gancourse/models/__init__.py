"""The course's reference models, looked up by name.

Chapters, the command line and the autograder all build models through this one registry::

    G = build_generator("dcgan32")
    D = build_discriminator("dcgan32", outputs="logits")

Each entry also records what the slides train it with (latent distribution, optimizer,
learning rates), which `gancourse.train` uses as defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gancourse.models.base import (
    OUTPUT_KINDS,
    OUTPUT_RANGES,
    Discriminator,
    Generator,
    count_parameters,
    init_dcgan_weights,
)
from gancourse.models.conditional import (
    ConditionalDiscriminator,
    ConditionalGenerator,
    generate,
    is_conditional,
)
from gancourse.models.dcgan import (
    DCGAN28Discriminator,
    DCGAN28Generator,
    DCGAN32Discriminator,
    DCGAN32Generator,
    DCGAN64Discriminator,
    DCGAN64Generator,
)
from gancourse.models.toy import ToyDiscriminator, ToyGenerator
from gancourse.models.vanilla import VanillaDiscriminator, VanillaGenerator


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry: the two classes and how the slides train them."""

    name: str
    generator: type[Generator]
    discriminator: type[Discriminator]
    latent_dim: int  # default length of z
    image_shape: tuple[int, int, int]  # (C, H, W) of the images G makes and D judges
    output_range: str  # 'tanh' -> data in [-1, 1], 'sigmoid' -> data in [0, 1]
    dcgan_init: bool  # apply the N(0, 0.02) initialisation of Radford et al.
    default_data: str  # data set the slides train it on
    latent_dist: str = "normal"  # 'normal' N(0, 1) or 'uniform' U(-1, 1) noise
    optimizer: str = "adam"  # 'adam', 'rmsprop' or 'sgd'
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's betas (Radford et al.)
    parameters: dict[str, int] = field(default_factory=dict)  # trainable counts, G and D
    source: str = ""  # which slides it comes from


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "vanilla",
            VanillaGenerator,
            VanillaDiscriminator,
            100,
            (1, 28, 28),
            "tanh",
            dcgan_init=False,
            default_data="mnist",
            parameters={"G": 1_489_936, "D": 533_505},
            source="POSTECH slides, Practice 1",
        ),
        ModelSpec(
            "dcgan32",
            DCGAN32Generator,
            DCGAN32Discriminator,
            100,
            (1, 32, 32),
            "tanh",
            dcgan_init=True,
            default_data="mnist",
            parameters={"G": 1_049_985, "D": 98_113},
            source="POSTECH slides, Practice 2",
        ),
        ModelSpec(
            "dcgan28",
            DCGAN28Generator,
            DCGAN28Discriminator,
            100,
            (1, 28, 28),
            "sigmoid",
            dcgan_init=True,
            default_data="mnist",
            latent_dist="uniform",
            optimizer="rmsprop",
            lr_g=1e-4,
            lr_d=2e-4,
            parameters={"G": 2_368_705, "D": 4_311_553},
            source="Shusen Wang's Keras DCGAN",
        ),
        ModelSpec(
            "dcgan64",
            DCGAN64Generator,
            DCGAN64Discriminator,
            100,
            (3, 64, 64),
            "tanh",
            dcgan_init=True,
            default_data="celeba",
            parameters={"G": 3_576_704, "D": 2_765_568},
            source="the PyTorch DCGAN tutorial's layout of Radford et al. (2015), CelebA",
        ),
    ]
}


def get_spec(name: str) -> ModelSpec:
    """The registry entry for `name`, with a clear error listing the known names."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name]


def build_generator(name: str, **kwargs) -> Generator:
    """Build the reference generator `name` (see `MODELS`); kwargs go to its constructor."""
    spec = get_spec(name)
    G = spec.generator(**kwargs)
    return init_dcgan_weights(G) if spec.dcgan_init else G


def build_discriminator(name: str, outputs: str = "logits", **kwargs) -> Discriminator:
    """Build the reference discriminator `name`, returning 'logits' or 'probs' (Sigmoid)."""
    spec = get_spec(name)
    D = spec.discriminator(outputs=outputs, **kwargs)
    return init_dcgan_weights(D) if spec.dcgan_init else D


def build_pair(name: str, outputs: str = "logits", **kwargs) -> tuple[Generator, Discriminator]:
    """Both networks of `name`; `kwargs` go to the generator only."""
    return build_generator(name, **kwargs), build_discriminator(name, outputs=outputs)


__all__ = [
    "MODELS",
    "OUTPUT_KINDS",
    "OUTPUT_RANGES",
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "Discriminator",
    "Generator",
    "ModelSpec",
    "ToyDiscriminator",
    "ToyGenerator",
    "build_discriminator",
    "build_generator",
    "build_pair",
    "count_parameters",
    "generate",
    "get_spec",
    "init_dcgan_weights",
    "is_conditional",
]
