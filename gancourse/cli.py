"""Command line: train a reference GAN, draw samples from a checkpoint, list the models.

    python -m gancourse train --model dcgan32 --data mnist --epochs 5 --out runs/dcgan32
    python -m gancourse train --model dcgan32 --data mnist --epochs 10 --out runs/dcgan32 --resume
    python -m gancourse sample --checkpoint runs/dcgan32/checkpoint.pt --out grid.png
    python -m gancourse models

A training run writes, under --out: samples/epoch_NNN.png (a grid from fixed noise after every
epoch), losses.png, history.json and checkpoint.pt. Mistakes in the arguments or the data end
with a one-line error, not a traceback.
"""

from __future__ import annotations

import argparse
import sys

import torch

from gancourse.checkpoint import load_checkpoint
from gancourse.models import (
    MODELS,
    OUTPUT_RANGES,
    build_discriminator,
    build_generator,
    count_parameters,
    get_spec,
)
from gancourse.objectives import (
    CLIP_VALUE,
    GP_WEIGHT,
    LOSSES,
    OBJECTIVES,
    has_batch_norm,
    objectives_table,
)
from gancourse.training import OPTIMIZERS, TrainConfig, TrainingDiverged, sample_noise, train

DATA_CHOICES = ("mnist", "fashion-mnist", "cifar10", "celeba", "folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gancourse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    t = commands.add_parser("train", help="train a reference GAN and write samples/checkpoints")
    t.add_argument("--model", choices=sorted(MODELS), default="dcgan32")
    t.add_argument(
        "--data",
        choices=DATA_CHOICES,
        default=None,
        help="data set (default: the one the model is made for)",
    )
    t.add_argument("--data-root", default="data", help="where torchvision keeps data sets")
    t.add_argument("--data-path", default=None, help="image folder for --data folder")
    t.add_argument(
        "--limit", type=_positive_int, default=None, help="use only the first N images (quick runs)"
    )
    t.add_argument("--epochs", type=_positive_int, default=5)
    t.add_argument("--batch-size", type=_positive_int, default=64)
    t.add_argument(
        "--k", type=_positive_int, default=None, help="D steps per G step (default 1; wgan: 5)"
    )
    t.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=None,
        help="default: the slides' choice for the model",
    )
    t.add_argument("--lr-g", type=_positive_float, default=None)
    t.add_argument("--lr-d", type=_positive_float, default=None)
    t.add_argument(
        "--generator-loss", choices=("non-saturating", "saturating"), default="non-saturating"
    )
    t.add_argument(
        "--label-smoothing",
        type=_unit_float,
        default=0.0,
        help="one-sided: real labels become 1 - this",
    )
    t.add_argument(
        "--noisy-labels", action="store_true", help="real ~ U(0.7, 1.2), fake ~ U(0.0, 0.3)"
    )
    t.add_argument("--flip-prob", type=_unit_float, default=0.0)
    t.add_argument(
        "--instance-noise",
        type=_nonnegative_float,
        default=0.0,
        help="initial std of noise on D's inputs, decayed linearly to 0",
    )
    t.add_argument(
        "--loss",
        choices=LOSSES,
        default="gan",
        help="the objective (python -m gancourse objectives); its paper's optimizer, learning "
        "rate and k unless given",
    )
    t.add_argument("--gp-weight", type=_positive_float, default=GP_WEIGHT, help="WGAN-GP's lambda")
    t.add_argument(
        "--clip-value", type=_positive_float, default=CLIP_VALUE, help="WGAN's weight clipping"
    )
    t.add_argument(
        "--r1-gamma", type=_nonnegative_float, default=0.0, help="R1 penalty on real data"
    )
    t.add_argument(
        "--spectral-norm", action="store_true", help="spectral normalisation of D's layers"
    )
    t.add_argument("--max-steps", type=_positive_int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    t.add_argument(
        "--amp",
        choices=("auto", "on", "off"),
        default="auto",
        help="bf16 autocast; auto: on CUDA with bf16, on a CPU where measured faster",
    )
    t.add_argument("--out", required=True, help="output folder")
    t.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    t.add_argument("--no-progress", action="store_true")

    s = commands.add_parser("sample", help="write a grid of samples from a checkpoint")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--num", type=_positive_int, default=64, help="number of images")
    s.add_argument("--seed", type=int, default=0)

    commands.add_parser("models", help="list the reference models and their parameter counts")
    commands.add_parser("objectives", help="list the training objectives and their settings")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "sample":
            return _sample(args)
        if args.command == "objectives":
            return _objectives()
        return _models()
    except (ValueError, TypeError, KeyError, FileNotFoundError, RuntimeError) as err:
        # TrainingDiverged is a RuntimeError too: its message names the network and the step.
        kind = "training diverged" if isinstance(err, TrainingDiverged) else "error"
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{kind}: {message}", file=sys.stderr)
        return 1


def _train(args: argparse.Namespace) -> int:
    from gancourse.data import load_images

    spec = get_spec(args.model)
    channels, size, _ = spec.image_shape
    data_name = args.data or spec.default_data
    data = load_images(
        data_name,
        root=args.data_root,
        path=args.data_path,
        image_size=size,
        channels=channels,
        value_range=spec.output_range,
        limit=args.limit,
        progress=not args.no_progress,
    )
    print(f"data: {len(data)} images from {data.source}")
    objective = OBJECTIVES[args.loss]
    paper = {} if args.loss == "gan" else objective.settings()  # 'gan': the model's own
    paper.pop("k", None)  # --k below
    paper.pop("loss", None)
    overrides = paper | {
        name: value
        for name, value in (("optimizer", args.optimizer), ("lr_g", args.lr_g), ("lr_d", args.lr_d))
        if value
    }
    config = TrainConfig.for_model(
        args.model,
        **overrides,
        num_epochs=args.epochs,
        batch_size=args.batch_size,
        k=args.k or objective.k,
        loss=args.loss,
        gp_weight=args.gp_weight,
        clip_value=args.clip_value,
        r1_gamma=args.r1_gamma,
        spectral_norm=args.spectral_norm,
        generator_loss=args.generator_loss,
        label_smoothing=args.label_smoothing,
        noisy_labels=args.noisy_labels,
        label_flip_prob=args.flip_prob,
        instance_noise=args.instance_noise,
        max_steps=args.max_steps,
        seed=args.seed,
        device=args.device,
        amp={"auto": None, "on": True, "off": False}[args.amp],
        out_dir=args.out,
        progress=not args.no_progress,
    )
    torch.manual_seed(args.seed)
    G, D = build_generator(args.model), build_discriminator(args.model)
    if (args.loss == "wgan-gp" or args.r1_gamma) and has_batch_norm(D):
        try:  # the penalties are per sample: the critic without batch norm, where it has one
            D = build_discriminator(args.model, batch_norm=False)
            print(f"D: {args.model}'s critic without batch norm (for the gradient penalty)")
        except TypeError:
            pass  # train() then says why this D cannot be used
    result = train(G, D, data, config, resume=args.resume)
    h = result.history
    print(
        f"done: {len(h)} generator steps; last loss_d={h.last('loss_d', 20):.3f} "
        f"loss_g={h.last('loss_g', 20):.3f}; files in {args.out}; computed in {result.precision}"
    )
    return 0


def _sample(args: argparse.Namespace) -> int:
    from gancourse.plots import save_sample_grid

    ckpt = load_checkpoint(args.checkpoint)
    name = ckpt.get("model")
    if name is None:
        raise ValueError(
            f"{args.checkpoint} holds a generator that is not a registry model; "
            "load it in Python with gancourse.load_checkpoint"
        )
    G = build_generator(name, latent_dim=ckpt["latent_dim"])
    G.load_state_dict(ckpt["G"])
    G.eval()
    generator = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        images = G(
            sample_noise(args.num, G.latent_dim, ckpt["config"]["latent_dist"], generator=generator)
        )
    path = save_sample_grid(images, args.out, value_range=OUTPUT_RANGES[G.output_range])
    print(f"wrote {args.num} samples of {name} (step {ckpt['step']}) to {path}")
    return 0


def _models() -> int:
    print(f"{'name':10} {'image':12} {'G params':>12} {'D params':>12}  source")
    for name, spec in MODELS.items():
        G = build_generator(name)
        D = spec.discriminator()
        shape = "x".join(map(str, spec.image_shape))
        print(
            f"{name:10} {shape:12} {count_parameters(G):>12,} {count_parameters(D):>12,}  "
            f"{spec.source}"
        )
    return 0


def _objectives() -> int:
    print(objectives_table())
    print("regularisers: --r1-gamma G (R1, Mescheder et al. 2018), --spectral-norm (Miyato et al.")
    print("2018); 'gan' keeps each model's own settings (the slides').")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, received {text}")
    return value


def _nonnegative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, received {text}")
    return value


def _unit_float(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], received {text}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
