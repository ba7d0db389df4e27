"""batchnorm_backward_alt simplifies dx but drops the term that flows through the variance."""

from reference import *  # noqa: F403


def batchnorm_backward_alt(dout, cache):
    x, x_hat, mean, var, inv_std, gamma, eps = cache
    dx_hat = dout * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


EXPECT = {"batchnorm_backward_alt": "backward"}
DIAGNOSES = {"batchnorm_backward_alt": "bn-no-var-path"}
DIAGNOSIS = "bn-no-var-path"
