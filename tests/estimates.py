"""The statistical check of a stochastic gradient estimator: many seeded estimates, their mean and standard error."""

import numpy as np


def mean_and_standard_error(estimator, net, x1, y1, n_calls=20, copies=500):
    """An estimator's summed gradient over one sequence: the mean of n_calls x copies seeded estimates, and its SE.

    Each call runs ``copies`` copies of the one sequence (x1, y1 of batch 1),
    each with its own random draws: its gradient / copies is the mean of that
    many estimates; the SE is that of the n_calls call means.
    """
    x, y = np.repeat(x1, copies, axis=1), np.repeat(y1, copies, axis=1)
    means = np.array(
        [sum(w.grad for w in estimator(net, x, y, 2, seed=seed, reduction="sum")) / copies for seed in range(n_calls)]
    )
    return means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(n_calls)


def largest_deviation(mean, se, expected, exact_scale):
    """The largest |mean - expected| / SE over the entries with a spread, and a mask of those entries."""
    random = se > 1e-9 * exact_scale  # the readout's gradient is exact, with no spread
    return np.abs((mean[random] - expected[random]) / se[random]).max(initial=0.0), random
