"""The compiled layer: Numba kernels that take validated arrays and write into arrays they are given.

Nothing here checks its input or imports the modules above it; the public
layer (:mod:`rnn_numba.model`, :mod:`rnn_numba.bptt`, ...) converts and
checks every argument first. :mod:`~rnn_numba._kernels.jit` decides every
Numba option.
"""
