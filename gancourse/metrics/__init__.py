"""Evaluation of generative models: FID and its parts, Inception Score, precision and recall,
the memorisation check, and the feature extractors they use.

    from gancourse.metrics import fid, load_mnist_extractor
    score = fid(G, "mnist", extractor=load_mnist_extractor())  # offline MNIST FID
"""

from gancourse.metrics.digit_reading import DigitReading, read_digits
from gancourse.metrics.extractor import FeatureExtractor, check_images
from gancourse.metrics.fid import compute_statistics, fid, reference_statistics
from gancourse.metrics.frechet import covariance_factor, frechet_distance
from gancourse.metrics.inception import FIDInceptionV3, load_inception
from gancourse.metrics.inception_score import (
    class_probabilities_of,
    inception_score,
    inception_score_of,
)
from gancourse.metrics.memorisation import (
    copy_fraction,
    data_copying_test,
    memorisation_figure,
    nearest_neighbours,
)
from gancourse.metrics.mnist_net import MNISTFeatureNet, load_mnist_extractor
from gancourse.metrics.precision_recall import precision_recall
from gancourse.metrics.sources import image_batches
from gancourse.metrics.statistics import (
    FeatureStatistics,
    StatisticsAccumulator,
    statistics_of_features,
)

__all__ = [
    "DigitReading",
    "FIDInceptionV3",
    "FeatureExtractor",
    "FeatureStatistics",
    "MNISTFeatureNet",
    "StatisticsAccumulator",
    "check_images",
    "class_probabilities_of",
    "compute_statistics",
    "copy_fraction",
    "covariance_factor",
    "data_copying_test",
    "fid",
    "frechet_distance",
    "image_batches",
    "inception_score",
    "inception_score_of",
    "load_inception",
    "load_mnist_extractor",
    "memorisation_figure",
    "nearest_neighbours",
    "precision_recall",
    "read_digits",
    "reference_statistics",
    "statistics_of_features",
]
