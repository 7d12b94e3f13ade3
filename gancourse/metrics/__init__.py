"""Evaluation of generative models: FID and its parts, and the feature extractors it uses."""

from gancourse.metrics.extractor import FeatureExtractor, check_images
from gancourse.metrics.fid import compute_statistics, fid, reference_statistics
from gancourse.metrics.frechet import covariance_factor, frechet_distance
from gancourse.metrics.statistics import (
    FeatureStatistics,
    StatisticsAccumulator,
    statistics_of_features,
)

__all__ = [
    "FeatureExtractor",
    "FeatureStatistics",
    "StatisticsAccumulator",
    "check_images",
    "compute_statistics",
    "covariance_factor",
    "fid",
    "frechet_distance",
    "reference_statistics",
    "statistics_of_features",
]
