"""gancourse: the support package of an open course on Generative Adversarial Networks.

The book's chapters, the assignments and the autograder import everything reusable from here:
reference models (`build_generator`, `build_discriminator`), the losses, the training tricks,
the training loop (`train`, `discriminator_step`, `generator_step`), data loading
(`load_images`) and figures (`show_samples`).
"""

from gancourse.checkpoint import load_checkpoint, save_checkpoint
from gancourse.data import ImageSet, load_images
from gancourse.device import pick_device
from gancourse.history import History
from gancourse.losses import (
    bce,
    discriminator_loss,
    generator_loss,
    log_d,
    log_one_minus_d,
    value_function,
)
from gancourse.models import (
    MODELS,
    ConditionalDiscriminator,
    ConditionalGenerator,
    Discriminator,
    Generator,
    ToyDiscriminator,
    ToyGenerator,
    build_discriminator,
    build_generator,
    build_pair,
    count_parameters,
    get_spec,
    init_dcgan_weights,
)
from gancourse.models.pretrained import load_pretrained
from gancourse.plots import (
    loss_curve_figure,
    sample_grid_figure,
    save_loss_curves,
    save_sample_grid,
    show_history,
    show_samples,
)
from gancourse.sizes import by_size, is_smoke, run_size
from gancourse.steps import discriminator_step, generator_step
from gancourse.training import (
    TrainConfig,
    TrainingDiverged,
    TrainResult,
    make_optimizer,
    sample_noise,
    train,
)

__version__ = "0.1.0"

__all__ = [
    "load_pretrained",
    "MODELS",
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "Discriminator",
    "Generator",
    "History",
    "ImageSet",
    "ToyDiscriminator",
    "ToyGenerator",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "bce",
    "build_discriminator",
    "by_size",
    "build_generator",
    "build_pair",
    "count_parameters",
    "discriminator_loss",
    "discriminator_step",
    "generator_loss",
    "generator_step",
    "get_spec",
    "init_dcgan_weights",
    "is_smoke",
    "load_checkpoint",
    "load_images",
    "log_d",
    "log_one_minus_d",
    "loss_curve_figure",
    "make_optimizer",
    "pick_device",
    "run_size",
    "sample_grid_figure",
    "sample_noise",
    "save_checkpoint",
    "save_loss_curves",
    "save_sample_grid",
    "show_history",
    "show_samples",
    "train",
    "value_function",
]
