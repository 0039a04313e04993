"""Optimisers and gradient clipping on the flat parameter vector.

Every optimiser updates ``theta`` in place from a gradient in the same flat
layout (``net.theta``, ``Gradient.grad``), keeps its state in NumPy arrays,
and can save and restore that state (:meth:`Optimizer.state_dict`), so a
run resumes with the same next steps. Update rules, with g the gradient:

- SGD: v = mu v + g; theta -= lr v (Nesterov: theta -= lr (g + mu v)),
  as in PyTorch (Sutskever et al. 2013, ICML).
- RMSProp: s = rho s + (1 - rho) g^2; theta -= lr g / (sqrt(s) + eps)
  (Tieleman & Hinton 2012, Coursera lecture 6.5).
- Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  theta -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) (Kingma & Ba 2015, arXiv:1412.6980).
- Adagrad: s = s + g^2; theta -= lr g / (sqrt(s) + eps) (Duchi, Hazan & Singer 2011, JMLR 12).
"""

import numpy as np

from . import _validate as check


def _rate(name, value, minimum=0.0, maximum=None):
    value = float(value)
    if not np.isfinite(value) or value < minimum or (maximum is not None and value >= maximum):
        bound = f"in [{minimum}, {maximum})" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


class Optimizer:
    """Base class: ``step(theta, grad)`` updates ``theta`` in place.

    Subclasses name their state arrays in ``_slots`` and implement ``_update``.
    """

    _slots = ()

    def __init__(self):
        self.t = 0
        self.state = {}

    def step(self, theta, grad):
        """Apply one update to ``theta`` (shape (n,), updated in place) from ``grad`` (shape (n,)).

        Returns
        -------
        ndarray
            ``theta``, for chaining.
        """
        if not isinstance(theta, np.ndarray) or theta.dtype.kind != "f" or theta.ndim != 1:
            raise TypeError("theta must be a 1-D floating-point ndarray, updated in place (pass net.theta)")
        grad = check.float_array("grad", grad, theta.dtype, (theta.shape[0],))
        if not self.state:
            self.state = {slot: np.zeros_like(theta) for slot in self._slots}
        elif next(iter(self.state.values())).shape != theta.shape:
            raise ValueError("theta has changed size since the optimiser's first step; make a new optimiser")
        self.t += 1
        self._update(theta, grad)
        return theta

    def settings(self) -> dict:
        """The optimiser's class and hyperparameters (not its state), JSON-ready: ``{"class": "Adam", "lr": ...}``."""
        hyper = {k: v for k, v in vars(self).items() if k != "t" and isinstance(v, (int, float, bool))}
        return {"class": type(self).__name__, **hyper}

    def state_dict(self):
        """The optimiser's configuration and state: copies, safe to save with ``np.savez``."""
        return {"t": self.t, **{f"state.{k}": v.copy() for k, v in self.state.items()}}

    def load_state_dict(self, saved):
        """Restore what :meth:`state_dict` returned."""
        self.t = int(saved["t"])
        self.state = {k.split(".", 1)[1]: np.array(v) for k, v in saved.items() if k.startswith("state.")}


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

    def __init__(self, lr, momentum=0.0, nesterov=False):
        super().__init__()
        self.lr = _rate("lr", lr)
        self.momentum = _rate("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self._slots = ("velocity",) if self.momentum else ()

    def _update(self, theta, grad):
        if not self.momentum:
            theta -= self.lr * grad
            return
        v = self.state["velocity"]
        v *= self.momentum
        v += grad
        theta -= self.lr * (grad + self.momentum * v if self.nesterov else v)


class RMSProp(Optimizer):
    """RMSProp; ``decay`` 0.9 is the copy-task setting of Arjovsky et al. 2016."""

    _slots = ("square_avg",)

    def __init__(self, lr=1e-3, decay=0.9, eps=1e-8):
        super().__init__()
        self.lr, self.decay, self.eps = _rate("lr", lr), _rate("decay", decay, 0.0, 1.0), _rate("eps", eps)

    def _update(self, theta, grad):
        s = self.state["square_avg"]
        s *= self.decay
        s += (1 - self.decay) * grad * grad
        theta -= self.lr * grad / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Adam with bias correction."""

    _slots = ("m", "v")

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__()
        self.lr, self.eps = _rate("lr", lr), _rate("eps", eps)
        self.beta1, self.beta2 = _rate("beta1", beta1, 0.0, 1.0), _rate("beta2", beta2, 0.0, 1.0)

    def _update(self, theta, grad):
        m, v = self.state["m"], self.state["v"]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        m_hat = m / (1 - self.beta1**self.t)
        v_hat = v / (1 - self.beta2**self.t)
        theta -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class Adagrad(Optimizer):
    """Adagrad (min-char-rnn's choice)."""

    _slots = ("sum_sq",)

    def __init__(self, lr=1e-2, eps=1e-8):
        super().__init__()
        self.lr, self.eps = _rate("lr", lr), _rate("eps", eps)

    def _update(self, theta, grad):
        s = self.state["sum_sq"]
        s += grad * grad
        theta -= self.lr * grad / (np.sqrt(s) + self.eps)


def clip_grad_norm(grad: np.ndarray, max_norm: float) -> tuple:
    """Rescale ``grad`` so that its Euclidean norm is at most ``max_norm`` (Pascanu et al. 2013, Alg. 1).

    Parameters
    ----------
    grad : ndarray, shape (n,)
    max_norm : float
        > 0.

    Returns
    -------
    clipped : ndarray, shape (n,)
        A new array: ``grad`` times min(1, max_norm / ||grad||); same direction.
    norm : float
        ||grad|| before clipping (a diagnostic worth logging).
    """
    max_norm = check.positive_float("max_norm", max_norm)
    grad = np.asarray(grad)
    norm = float(np.linalg.norm(grad))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return grad * grad.dtype.type(scale), norm


def clip_grad_value(grad: np.ndarray, clip: float) -> np.ndarray:
    """Clip every component of ``grad`` to [-clip, clip]; returns a new array."""
    clip = _rate("clip", clip)
    return np.clip(grad, -clip, clip)
