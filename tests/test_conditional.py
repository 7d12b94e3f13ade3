"""The conditional GAN: shapes, label dependence, bad labels, and training with labels."""

from __future__ import annotations

import pytest
import torch

import gancourse as gc
from gancourse.models import (
    ConditionalDiscriminator,
    ConditionalGenerator,
    generate,
    is_conditional,
)
from gancourse.models.conditional import EMBEDDING_DIM, check_labels


def small_pair(**kwargs):
    return ConditionalGenerator(**kwargs), ConditionalDiscriminator(**kwargs)


def test_shapes_and_output_range():
    G, D = small_pair()
    Z, y = torch.randn(6, 100), torch.arange(6)
    X = G(Z, y)
    assert X.shape == (6, 1, 28, 28) and X.min() >= -1 and X.max() <= 1
    assert D(X, y).shape == (6, 1)
    assert G.num_classes == D.num_classes == 10 and G.output_range == "tanh"
    assert isinstance(G, gc.Generator) and isinstance(D, gc.Discriminator)


def test_probs_output_and_embedding_size():
    G, D = (
        ConditionalGenerator(num_classes=3, embedding_dim=5),
        ConditionalDiscriminator(num_classes=3, outputs="probs", embedding_dim=5),
    )
    p = D(G(torch.randn(4, 100), torch.tensor([0, 1, 2, 0])), torch.tensor([0, 1, 2, 0]))
    assert ((p > 0) & (p < 1)).all()
    assert G.embed.weight.shape == (3, 5) and D.embed.weight.shape == (3, 5)


def test_parameter_counts_are_the_vanilla_ones_plus_the_label_inputs():
    G, D = small_pair()
    vanilla_g, vanilla_d = gc.build_pair("vanilla")
    E = EMBEDDING_DIM
    # G: embedding (10 x E) and E more inputs to the first Linear (E x 256 weights)
    assert gc.count_parameters(G) == gc.count_parameters(vanilla_g) + 10 * E + E * 256
    # D: embedding (10 x E) and E more inputs to the first Linear (E x 512 weights)
    assert gc.count_parameters(D) == gc.count_parameters(vanilla_d) + 10 * E + E * 512


def test_the_label_changes_the_output_for_the_same_noise():
    G, D = small_pair()
    G.eval()
    D.eval()
    Z = torch.randn(1, 100).repeat(10, 1)
    X = G(Z, torch.arange(10))
    assert not torch.allclose(X[0], X[1])
    assert len({tuple(x.flatten()[:20].tolist()) for x in X}) == 10
    same = G(Z, torch.full((10,), 3))
    assert torch.allclose(same[0], same[9], atol=1e-5)
    image = X[:1].repeat(2, 1, 1, 1)
    scores = D(image, torch.tensor([0, 1]))
    assert scores[0] != scores[1]


def test_int_label_and_balanced_default():
    G, _ = small_pair()
    G.eval()
    Z = torch.randn(12, 100)
    assert torch.allclose(G(Z, 4), G(Z, torch.full((12,), 4)))
    assert torch.allclose(G(Z), G(Z, torch.arange(12) % 10))


@pytest.mark.parametrize(
    "labels, error, match",
    [
        (torch.tensor([0, 1, 10]), ValueError, r"0\.\.9"),
        (torch.tensor([-1, 0, 1]), ValueError, r"0\.\.9"),
        (torch.tensor([0, 1]), ValueError, r"shape \(3,\)"),
        (torch.tensor([0.0, 1.0, 2.0]), TypeError, "integer class indices"),
        ([0, 1, 2], TypeError, "integer tensor"),
        (True, TypeError, "int or an integer tensor"),
    ],
)
def test_bad_labels_are_rejected_clearly(labels, error, match):
    G, D = small_pair()
    with pytest.raises(error, match=match):
        G(torch.randn(3, 100), labels)
    with pytest.raises(error, match=match):
        D(torch.zeros(3, 1, 28, 28), labels)


def test_discriminator_needs_labels_and_checks_images():
    _, D = small_pair()
    with pytest.raises(ValueError, match="D\\(X, labels\\)"):
        D(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        D(torch.zeros(2, 28, 28), torch.tensor([0, 1]))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        ConditionalGenerator(num_classes=1)
    with pytest.raises(ValueError, match="embedding_dim"):
        ConditionalDiscriminator(embedding_dim=0)


def test_check_labels_none():
    assert torch.equal(check_labels(None, 5, 3, balanced=True), torch.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match="received None"):
        check_labels(None, 5, 3)


def test_generate_a_chosen_digit():
    G, _ = small_pair()
    G.train()
    images = generate(G, 7, 5)
    assert images.shape == (5, 1, 28, 28) and images.device.type == "cpu"
    assert G.training  # mode restored
    assert torch.equal(images, generate(G, 7, 5))  # seeded
    Z = torch.randn(3, 100)
    assert torch.equal(generate(G, 2, Z=Z), generate(G, torch.tensor([2, 2, 2]), Z=Z))
    with pytest.raises(TypeError, match="conditional generator"):
        generate(gc.build_generator("vanilla"), 1, 2)
    with pytest.raises(ValueError, match="n: expected"):
        generate(G, 1, 0)


def test_is_conditional():
    G, D = small_pair()
    assert is_conditional(G) and is_conditional(D)
    assert not any(map(is_conditional, gc.build_pair("vanilla")))


def labelled_digits(mnist_digits, n=256):
    from gancourse.data import mnist_sample

    _, labels = mnist_sample()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))[:n]
    return mnist_digits[order], torch.from_numpy(labels)[order]


def test_train_runs_with_labels_and_records_history(mnist_digits):
    images, labels = labelled_digits(mnist_digits)
    G, D = small_pair()
    d0 = [p.detach().clone() for p in D.embed.parameters()]
    g0 = [p.detach().clone() for p in G.embed.parameters()]
    config = gc.TrainConfig(num_epochs=2, batch_size=32, progress=False, log_every=2)
    result = gc.train(G, D, (images, labels), config)
    assert len(result.history) == 2 * (256 // 32)
    assert all(torch.isfinite(torch.tensor(result.history.loss_d)))
    # the label embeddings of both networks were trained
    assert not torch.equal(d0[0], D.embed.weight) and not torch.equal(g0[0], G.embed.weight)
    assert result.samples[2].shape == (64, 1, 28, 28)


def test_train_improves_the_discriminator(mnist_digits):
    images, labels = labelled_digits(mnist_digits, 512)
    data = gc.ImageSet(images, labels, "mnist", "test sample", (-1.0, 1.0))
    G, D = small_pair()
    result = gc.train(G, D, data, num_epochs=1, batch_size=32, progress=False, lr_d=1e-3)
    h = result.history
    # D learns to separate real from fake: its loss falls below the chance value 2 log 2
    assert sum(h.loss_d[-4:]) / 4 < sum(h.loss_d[:2]) / 2
    assert h.last("d_real", 4) > h.last("d_fake", 4)


def test_train_rejects_unlabelled_data_and_mixed_pairs(mnist_digits):
    G, D = small_pair()
    with pytest.raises(ValueError, match="labelled data"):
        gc.train(G, D, mnist_digits[:64], num_epochs=1, batch_size=32, progress=False)
    with pytest.raises(TypeError, match="conditional G only"):
        gc.train(G, gc.build_discriminator("vanilla"), (mnist_digits[:64], torch.zeros(64)))
    with pytest.raises(ValueError, match="same num_classes"):
        gc.train(G, ConditionalDiscriminator(num_classes=5), (mnist_digits[:64], torch.zeros(64)))
    with pytest.raises(ValueError, match="one label per image"):
        gc.train(
            G,
            D,
            (mnist_digits[:64], torch.zeros(63, dtype=torch.long)),
            batch_size=32,
            progress=False,
        )
    with pytest.raises(ValueError, match=r"0\.\.9"):
        gc.train(G, D, (mnist_digits[:64], torch.full((64,), 12)), batch_size=32, progress=False)


def test_steps_pass_labels_to_a_conditional_d(mnist_digits):
    G, D = small_pair()
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    y = torch.arange(8) % 10
    fake = G(torch.randn(8, 100), y)
    stats = gc.discriminator_step(D, opt_d, mnist_digits[:8], fake, labels=y)
    assert 0 < stats["d_real"].item() < 1
    stats = gc.generator_step(D, opt_g, fake, labels=y)
    assert stats["grad_norm_g"].item() > 0
    assert all(p.requires_grad for p in D.parameters())


def test_metrics_can_sample_a_conditional_generator():
    from gancourse.metrics.sources import image_batches

    G, _ = small_pair()
    batches, total = image_batches(G, batch_size=10, num_samples=20)
    assert total == 2 and [b.shape for b in batches] == [(10, 1, 28, 28)] * 2
