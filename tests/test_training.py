"""The training steps and loop: what moves, what is frozen, resume, divergence, bad input."""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
import pickle
import re

import pytest
import torch

import gancourse as gc
from gancourse.training import TrainConfig


def small_config(**overrides) -> TrainConfig:
    base = dict(num_epochs=1, batch_size=32, progress=False, log_every=2)
    return TrainConfig(**{**base, **overrides})


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


# ----------------------------------------------------------------------------- the steps


def test_discriminator_step_updates_only_d(mnist_digits):
    G, D = gc.build_pair("vanilla")
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    g0, d0 = params(G), params(D)
    fake = G(torch.randn(16, 100))
    stats = gc.discriminator_step(D, opt_d, mnist_digits[:16], fake)
    assert changed(d0, D) and not changed(g0, G)
    assert all(p.grad is None for p in G.parameters())  # the fakes were detached
    assert set(stats) == {"loss_d", "d_real", "d_fake", "grad_norm_d", "critic_gap", "penalty"}
    assert 0 < stats["d_real"].item() < 1 and stats["grad_norm_d"].item() > 0


def test_generator_step_freezes_d_and_restores_it():
    G, D = gc.build_pair("dcgan32")
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    g0, d0 = params(G), params(D)
    stats = gc.generator_step(D, opt_g, G(torch.randn(8, 100)))
    assert changed(g0, G) and not changed(d0, D)
    assert all(p.grad is None for p in D.parameters())  # no gradient computed for D's weights
    assert all(p.requires_grad for p in D.parameters())  # unfrozen afterwards
    assert stats["loss_g"].item() > 0 and stats["grad_norm_g"].item() > 0


def test_generator_step_needs_the_graph():
    G, D = gc.build_pair("vanilla")
    opt_g = torch.optim.Adam(G.parameters())
    with pytest.raises(ValueError, match="computed with gradients"):
        gc.generator_step(D, opt_g, G(torch.randn(4, 100)).detach())


def test_discriminator_step_descends_its_loss(mnist_digits):
    G, D = gc.build_pair("vanilla")
    D.eval()  # no dropout, so the same batch gives the same loss before and after
    opt_d = torch.optim.SGD(D.parameters(), lr=0.05)
    X, fake = mnist_digits[:64], G(torch.randn(64, 100)).detach()
    before = gc.discriminator_loss(D(X), D(fake), D.outputs)
    gc.discriminator_step(D, opt_d, X, fake)
    after = gc.discriminator_loss(D(X), D(fake), D.outputs)
    assert after < before


def test_sample_noise_distributions():
    Z = gc.sample_noise(50_000, 4, "uniform", generator=torch.Generator().manual_seed(0))
    assert Z.shape == (50_000, 4) and Z.min() >= -1 and Z.max() <= 1
    assert abs(Z.mean().item()) < 0.01 and abs(Z.var().item() - 1 / 3) < 0.01
    Z = gc.sample_noise(50_000, 4, "normal", generator=torch.Generator().manual_seed(0))
    assert abs(Z.std().item() - 1) < 0.01


# ----------------------------------------------------------------------------- the loop


def test_short_training_moves_the_generator_toward_mnist(mnist_digits):
    G, D = gc.build_pair("vanilla")
    Z = torch.randn(500, 100, generator=torch.Generator().manual_seed(3))
    real_mean = mnist_digits.mean(0)

    def distance() -> float:
        """Mean absolute difference between the average sample and the average digit."""
        G.eval()
        with torch.no_grad():
            d = (G(Z).mean(0) - real_mean).abs().mean().item()
        G.train()
        return d

    before = distance()
    config = small_config(num_epochs=2, batch_size=64, lr_g=1e-3, lr_d=1e-3)
    result = gc.train(G, D, mnist_digits, config)
    after = distance()
    assert len(result.history) == 2 * (5000 // 64)
    assert after < 0.5 * before, (before, after)  # measured: 0.74 -> 0.26
    # D is no longer guessing: it separates real digits from fakes on average.
    assert result.history.last("d_real", 20) > result.history.last("d_fake", 20)


def test_k_discriminator_steps_per_generator_step(mnist_digits):
    G, D = gc.build_pair("vanilla")
    result = gc.train(G, D, mnist_digits[:640], small_config(k=2, batch_size=32))
    assert len(result.history) == 640 // (32 * 2)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_optimizers_and_the_probability_form(mnist_digits, optimizer):
    G = gc.build_generator("vanilla")
    D = gc.build_discriminator("vanilla", outputs="probs")
    result = gc.train(
        G, D, mnist_digits[:256], small_config(optimizer=optimizer, generator_loss="saturating")
    )
    assert len(result.history) == 8
    assert all(0 <= v <= 1 for v in result.history.d_real)


def test_all_tricks_together(mnist_digits):
    G, D = gc.build_pair("vanilla")
    config = small_config(
        noisy_labels=True, label_flip_prob=0.05, instance_noise=0.1, label_smoothing=0.1
    )
    result = gc.train(G, D, mnist_digits[:256], config)
    assert len(result.history) == 8 and all(
        map(torch.isfinite, map(torch.tensor, result.history.loss_d))
    )


def test_uint8_data_is_scaled_to_the_generator_range(mnist_digits):
    raw = ((mnist_digits[:128] + 1) * 127.5).round().to(torch.uint8)
    G, D = gc.build_pair("dcgan28")  # Sigmoid generator: data must be in [0, 1]
    raw28 = raw
    result = gc.train(G, D, raw28, small_config(max_steps=2))
    assert len(result.history) == 2


def test_files_written_per_epoch(tmp_path, mnist_digits):
    G, D = gc.build_pair("vanilla")
    gc.train(G, D, mnist_digits[:256], small_config(num_epochs=2, out_dir=str(tmp_path)))
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "epoch_001.png",
        "epoch_002.png",
    ]
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["loss_d"]) == 16 and (tmp_path / "losses.png").stat().st_size > 1000
    assert (tmp_path / "checkpoint.pt").is_file()


def test_samples_come_from_fixed_noise_in_eval_mode(mnist_digits):
    G, D = gc.build_pair("vanilla")
    result = gc.train(G, D, mnist_digits[:128], small_config(num_samples=16))
    G.eval()
    with torch.no_grad():
        again = G(result.fixed_noise)
    torch.testing.assert_close(result.samples[1], again)


def test_on_epoch_end_callback(mnist_digits):
    seen = []
    G, D = gc.build_pair("vanilla")
    gc.train(
        G,
        D,
        mnist_digits[:128],
        small_config(num_epochs=2),
        on_epoch_end=lambda epoch, samples, history: seen.append((epoch, samples.shape)),
    )
    assert seen == [(1, (64, 1, 28, 28)), (2, (64, 1, 28, 28))]


# ----------------------------------------------------------------------------- resume


@pytest.mark.parametrize("name", ["vanilla", "dcgan32"])
def test_interrupted_run_resumes_to_the_same_weights(tmp_path, name, mnist_digits):
    torch.manual_seed(0)
    G0, D0 = gc.build_pair(name)
    data = mnist_digits[:192]
    if name == "dcgan32":
        data = torch.nn.functional.pad(data, (2, 2, 2, 2), value=-1.0)
    config = small_config(num_epochs=2, batch_size=32, seed=5)

    G1, D1 = copy.deepcopy(G0), copy.deepcopy(D0)
    straight = gc.train(G1, D1, data, config)

    G2, D2 = copy.deepcopy(G0), copy.deepcopy(D0)
    gc.train(G2, D2, data, config, out_dir=str(tmp_path), max_steps=4)  # stops mid-epoch 1
    torch.manual_seed(123)  # a "new session": other global RNG state, fresh models
    G3, D3 = gc.build_pair(name)
    resumed = gc.train(G3, D3, data, config, out_dir=str(tmp_path), resume=True)

    for a, b in zip(G1.state_dict().values(), G3.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(D1.state_dict().values(), D3.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.history.loss_g == straight.history.loss_g
    assert len(resumed.history) == 12


def test_resume_refuses_a_different_setup(tmp_path, mnist_digits):
    G, D = gc.build_pair("vanilla")
    gc.train(G, D, mnist_digits[:128], small_config(out_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="batch_size=32.*16"):
        gc.train(
            G,
            D,
            mnist_digits[:128],
            small_config(out_dir=str(tmp_path), batch_size=16),
            resume=True,
        )
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        gc.train(G, D, mnist_digits[:128], small_config(out_dir=str(tmp_path / "new")), resume=True)


def test_resume_can_extend_a_finished_run(tmp_path, mnist_digits):
    G, D = gc.build_pair("vanilla")
    gc.train(G, D, mnist_digits[:128], small_config(out_dir=str(tmp_path)))
    result = gc.train(
        G, D, mnist_digits[:128], small_config(out_dir=str(tmp_path), num_epochs=3), resume=True
    )
    assert len(result.history) == 12 and sorted(result.samples) == [1, 2, 3]


def test_checkpoint_holds_only_plain_values_and_round_trips(tmp_path, mnist_digits):
    """Everything train saves loads with weights_only=True (a Path out_dir is saved as a str);
    the config comes back as a TrainConfig and a resume continues from it."""
    G, D = gc.build_pair("vanilla")
    config = small_config(out_dir=tmp_path, optimizer="sgd", betas=[0.5, 0.9])  # a Path, a list
    gc.train(G, D, mnist_digits[:128], config)
    raw = torch.load(tmp_path / "checkpoint.pt", map_location="cpu", weights_only=True)
    ckpt = gc.load_checkpoint(tmp_path / "checkpoint.pt")
    assert set(raw) == set(ckpt) >= {"G", "D", "opt_g", "opt_d", "config", "history", "torch_rng"}
    assert TrainConfig(**ckpt["config"]) == small_config(
        out_dir=str(tmp_path), optimizer="sgd", betas=(0.5, 0.9)
    )
    assert gc.History.from_dict(ckpt["history"]).loss_d == raw["history"]["loss_d"]
    result = gc.train(
        G, D, mnist_digits[:128], dataclasses.replace(config, num_epochs=2), resume=True
    )
    assert len(result.history) == 8 and gc.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 8


def test_save_checkpoint_refuses_objects_that_would_not_load(tmp_path):
    with pytest.raises(TypeError, match=r"state\['extra'\]\[0\] is a builtins.object"):
        gc.save_checkpoint(tmp_path / "c.pt", {"extra": [object()]})
    assert not (tmp_path / "c.pt").exists()


class TouchOnUnpickle:
    """A hostile payload: unpickling it creates `marker` (it could as well run a shell)."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def write_hostile_checkpoint(path: pathlib.Path, marker: pathlib.Path, how: str) -> None:
    """A file that looks like a gancourse checkpoint (torch.save, the format key) or a bare
    pickle, carrying the payload."""
    state = {"format": "gancourse-checkpoint-1", "step": 1, "payload": TouchOnUnpickle(marker)}
    if how == "torch.save":
        torch.save(state, path)
    else:
        path.write_bytes(pickle.dumps(state, protocol=how))


@pytest.mark.parametrize("how", ["torch.save", 2, pickle.HIGHEST_PROTOCOL])
def test_hostile_checkpoint_is_refused_without_running_it(tmp_path, how, mnist_digits):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    write_hostile_checkpoint(path, marker, how)
    message = f"{path} is not a gancourse checkpoint: it contains disallowed objects"
    with pytest.raises(ValueError, match=re.escape(message)):
        gc.load_checkpoint(path)
    G, D = gc.build_pair("vanilla")
    with pytest.raises(ValueError, match="not a gancourse checkpoint"):
        gc.train(G, D, mnist_digits[:128], small_config(out_dir=str(tmp_path)), resume=True)
    assert not marker.exists()
    # the payload is live: loading the file the unsafe way would have run it
    pickle.loads(pickle.dumps(TouchOnUnpickle(marker)))
    assert marker.exists()


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    gc.save_checkpoint(path, {"step": 1})
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match=re.escape(f"{path} is not a readable gancourse")):
        gc.load_checkpoint(path)
    torch.save({"step": 1}, path)  # tensors and plain values, but not ours
    with pytest.raises(ValueError, match="not a gancourse checkpoint: expected a 'gancourse"):
        gc.load_checkpoint(path)


# ----------------------------------------------------------------------------- divergence


def poison_after(module: torch.nn.Module, calls: int) -> None:
    """Make the module's output NaN from its `calls`-th forward pass on."""
    count = {"n": 0}

    def hook(_module, _inputs, output):
        count["n"] += 1
        return output * float("nan") if count["n"] > calls else output

    module.register_forward_hook(hook)


def test_nan_in_the_discriminator_is_named_with_its_step(tmp_path, mnist_digits):
    G, D = gc.build_pair("vanilla")
    poison_after(D, 3 * 4)  # D runs 3 times per step: the 5th step breaks
    with pytest.raises(gc.TrainingDiverged, match="at step 5: the discriminator.s loss became nan"):
        gc.train(G, D, mnist_digits[:512], small_config(out_dir=str(tmp_path), log_every=10))
    assert not (tmp_path / "checkpoint.pt").exists()  # nothing non-finite was saved


def test_nan_in_the_generator_is_named(mnist_digits):
    G, D = gc.build_pair("vanilla")
    poison_after(G, 2)
    with pytest.raises(
        gc.TrainingDiverged, match="at step 3: the generator produced non-finite images"
    ):
        gc.train(G, D, mnist_digits[:512], small_config())


def test_good_checkpoint_survives_a_later_divergence(tmp_path, mnist_digits):
    G, D = gc.build_pair("vanilla")
    poison_after(D, 3 * 6)
    with pytest.raises(gc.TrainingDiverged):
        gc.train(G, D, mnist_digits[:512], small_config(out_dir=str(tmp_path), checkpoint_every=2))
    ckpt = gc.load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["step"] == 6
    assert all(torch.isfinite(t).all() for t in ckpt["D"].values() if t.is_floating_point())


# ----------------------------------------------------------------------------- bad input


def test_data_shape_and_range_are_checked(mnist_digits):
    G, D = gc.build_pair("dcgan32")
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\).*\(256, 1, 28, 28\)"):
        gc.train(G, D, mnist_digits[:256], small_config())
    G, D = gc.build_pair("dcgan28")  # Sigmoid: wants [0, 1]
    with pytest.raises(ValueError, match=r"\[0, 1\].*sigmoid.*\[-1, 1\]"):
        gc.train(G, D, mnist_digits[:256], small_config())
    G, D = gc.build_pair("vanilla")
    with pytest.raises(ValueError, match="at least batch_size \\* k = 64 images.*received 40"):
        gc.train(G, D, mnist_digits[:40], small_config(batch_size=64))
    with pytest.raises(TypeError, match="expected an ImageSet.*list"):
        gc.train(G, D, [1, 2, 3], small_config())


def test_mismatched_models_are_refused():
    G = gc.build_generator("vanilla")
    D = gc.build_discriminator("dcgan32")
    with pytest.raises(ValueError, match=r"\(1, 28, 28\).*\(1, 32, 32\)"):
        gc.train(G, D, torch.zeros(64, 1, 28, 28), small_config())
    with pytest.raises(TypeError, match="gancourse Generator"):
        gc.train(torch.nn.Linear(2, 2), D, torch.zeros(64, 1, 32, 32), small_config())


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("num_epochs", 0, "num_epochs.*>= 1.*0"),
        ("batch_size", 2.5, "batch_size"),
        ("optimizer", "lion", "optimizer.*'lion'"),
        ("lr_d", -1.0, "lr_d.*-1.0"),
        ("generator_loss", "minimax", "'minimax'"),
        ("max_steps", 0, "max_steps"),
    ],
)
def test_config_validation(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_config_for_model_uses_the_slides_settings():
    config = TrainConfig.for_model("dcgan28")
    assert (config.optimizer, config.lr_d, config.lr_g, config.latent_dist) == (
        "rmsprop",
        2e-4,
        1e-4,
        "uniform",
    )
    assert TrainConfig.for_model("dcgan32", lr_g=1e-3).lr_g == 1e-3


def test_instance_noise_decays_to_zero_by_max_steps_when_that_ends_the_run(
    mnist_digits, monkeypatch
):
    import gancourse.training as training

    seen = []
    original = training.noise_std_at

    def record(step, total, start, schedule):
        seen.append(original(step, total, start, schedule))
        return seen[-1]

    monkeypatch.setattr(training, "noise_std_at", record)
    G, D = gc.build_pair("vanilla")
    gc.train(G, D, mnist_digits[:640], small_config(instance_noise=0.5, max_steps=4, num_epochs=3))
    assert len(seen) == 4
    assert seen[0] == pytest.approx(0.5) and seen[-1] == pytest.approx(0.5 / 4)
