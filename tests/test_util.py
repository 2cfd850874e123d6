"""util.py (given): activations and their derivatives, on today's NumPy."""

import numpy as np
import pytest
from hypothesis import assume, given
from strategies import matrices

PAIRS = [("linear", "linear_deriv"), ("tanh", "tanh_deriv"), ("relu", "relu_deriv")]


@pytest.mark.parametrize(("act", "deriv"), PAIRS)
@given(x=matrices(low=-5, high=5))
def test_derivative_matches_central_differences(util, act, deriv, x):
    assume(np.abs(x).min() > 1e-3)  # away from relu's kink
    f, df = getattr(util, act), getattr(util, deriv)
    eps = 1e-6
    numeric = (f(x + eps) - f(x - eps)) / (2 * eps)
    np.testing.assert_allclose(
        df(f(x)), numeric, atol=1e-7, err_msg=f"{deriv}(post_act) should be the slope of {act}"
    )


def test_relu_deriv_returns_floats(util):
    out = util.relu_deriv(np.array([-1.0, 0.0, 2.0]))
    assert out.dtype.kind == "f" and out.tolist() == [0.0, 0.0, 1.0]
