# Master of the assignment `gradient_descent`. `autograder generate gradient_descent` makes from it
# the student notebook (assignments/) and the reference solution (solutions/). Solution regions are
# marked the nbgrader way; cells tagged "demo" and "selfcheck" run in the notebook but not while
# grading.

# %% [markdown]
# # Gradient descent: batch, stochastic and mini-batch
#
# Training a network means finding parameters that make a cost small. Gradient descent does it
# one small step at a time: compute the gradient of the cost, the direction in which the cost
# grows fastest, and step the other way. How many training examples go into each step is the
# difference between the three methods of the lecture:
#
# | method | examples per step | steps per epoch (m examples) |
# | --- | --- | --- |
# | batch gradient descent | all m | 1 |
# | stochastic gradient descent (SGD) | 1 | m |
# | mini-batch gradient descent | n (the batch size) | m / n, rounded up |
#
# An *epoch* is one pass over the whole training set. We study the three methods on the simplest
# model there is, linear regression, where we can also compute the best parameters directly and
# see how close each method gets.
#
# You implement five functions: `cost`, `gradient`, `batch_gradient_descent`,
# `stochastic_gradient_descent` and `minibatch_gradient_descent`. Everything else is given. After
# each function comes a short self-check; the grader runs many more checks than these. NumPy is
# all you need.

# %%
import matplotlib.pyplot as plt
import numpy as np

# %% [markdown]
# ## The data and the model
#
# One hundred points scattered around the line y = 4 + 3x. The model predicts
# $\hat y = \theta_0 + \theta_1 x$. To write the prediction as one matrix product we give every
# example a constant feature $x_0 = 1$: row $i$ of the design matrix `X` is $(1, x^{(i)})$, and
# the predictions of all examples at once are $\hat y = X\theta$.
#
# Shapes used throughout: `X` is `[m, d]` (m examples, d features including the constant one),
# `y` is `[m]`, `theta` is `[d]`.

# %%
def add_bias(x):
    """Prepend the constant feature 1: ``x`` ``[m]`` or ``[m, k]`` -> ``X`` ``[m, k + 1]``."""
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    return np.hstack([np.ones((len(x), 1)), x])


def predict(X, theta):
    """The predictions ``X @ theta``: ``X`` ``[m, d]``, ``theta`` ``[d]`` -> ``[m]``."""
    return X @ theta


data_rng = np.random.default_rng(42)
x_train = 2 * data_rng.random(100)
y_train = 4 + 3 * x_train + data_rng.normal(0, 1, 100)
X_train = add_bias(x_train)

# %% tags=["demo"]
plt.figure(figsize=(5, 3))
plt.plot(x_train, y_train, ".")
plt.xlabel("x")
plt.ylabel("y")
plt.title("the training data")
plt.show()

# %% [markdown]
# ## 1. The cost: `cost`
#
# How far off are the predictions? The lecture's cost is half the mean squared error,
#
# $$J(\theta) = \frac{1}{2m} \sum_{i=1}^{m} \left(\hat y^{(i)} - y^{(i)}\right)^2,
# \qquad \hat y^{(i)} = \theta^\top x^{(i)}.$$
#
# The factor 1/2 only makes the gradient tidier; the 1/m makes the cost an *average*, so that it
# does not grow with the number of examples.

# %%
def cost(X, y, theta):
    """Half the mean squared error of the predictions ``X @ theta``.

    Args:
        X: float array ``[m, d]``, one example per row (first column all ones).
        y: float array ``[m]``, the targets.
        theta: float array ``[d]``, the parameters.

    Returns:
        float: J(theta) = 1/(2m) * sum over i of (yhat_i - y_i)^2.
    """
    ### BEGIN SOLUTION
    residual = predict(X, theta) - y
    return float(residual @ residual) / (2 * len(y))
    ### END SOLUTION


# %% tags=["selfcheck"]
_X = add_bias([0.0, 1.0, 2.0])
_y = np.array([1.0, 3.0, 5.0])  # exactly on the line y = 1 + 2x
assert np.isclose(cost(_X, _y, np.array([1.0, 2.0])), 0.0), "a perfect fit should cost 0"
assert np.isclose(cost(_X, _y, np.zeros(2)), 35 / 6), "theta = 0 should cost (1 + 9 + 25) / 6"
assert np.ndim(cost(_X, _y, np.zeros(2))) == 0, "cost should return a single number"
print("cost: looks right")

# %% [markdown]
# ## 2. The gradient: `gradient`
#
# The partial derivative of J with respect to parameter $\theta_j$ is
#
# $$\frac{\partial J}{\partial \theta_j} = \frac{1}{m} \sum_{i=1}^{m}
# \left(\hat y^{(i)} - y^{(i)}\right) x_j^{(i)},$$
#
# and all d of them together form the gradient, a vector shaped like `theta`. (Where did the 1/2
# go? The derivative of the square brought down a factor 2.) Written with matrices, the sum over
# examples is a product with `X` transposed; a loop over j or over i is fine too.
#
# How do you know your gradient is right? Compare it with *centred differences*: nudge one
# parameter by a tiny h up and down and see how the cost changes,
# $\partial J / \partial \theta_j \approx (J(\theta + h e_j) - J(\theta - h e_j)) / 2h$.
# The helper below does that for every parameter; the self-check uses it.

# %%
def numerical_gradient(f, theta, h=1e-5):
    """Centred-difference estimate of the gradient of ``f`` at ``theta`` (``[d]`` -> ``[d]``)."""
    grad = np.zeros(len(theta))
    for j in range(len(theta)):
        step = np.zeros(len(theta))
        step[j] = h
        grad[j] = (f(theta + step) - f(theta - step)) / (2 * h)
    return grad


def gradient(X, y, theta):
    """The gradient of ``cost`` with respect to ``theta``.

    Args:
        X: float array ``[m, d]`` (m may be 1: a single example is a batch of one).
        y: float array ``[m]``.
        theta: float array ``[d]``.

    Returns:
        float array ``[d]``: entry j is 1/m * sum over i of (yhat_i - y_i) * X[i, j].
    """
    ### BEGIN SOLUTION
    return X.T @ (predict(X, theta) - y) / len(y)
    ### END SOLUTION


# %% tags=["selfcheck"]
_rng = np.random.default_rng(0)
_X, _y, _theta = add_bias(_rng.normal(size=(6, 2))), _rng.normal(size=6), _rng.normal(size=3)
_grad = gradient(_X, _y, _theta)
assert np.shape(_grad) == (3,), "the gradient should have the shape of theta"
_num = numerical_gradient(lambda t: cost(_X, _y, t), _theta)
assert np.allclose(_grad, _num, rtol=1e-6, atol=1e-8), "gradient disagrees with centred differences"
print("gradient:", _grad, " centred differences:", _num)

# %% [markdown]
# ## The rules the three optimizers share
#
# Each optimizer starts from `theta`, repeats `theta = theta - learning_rate * g` where `g` is the
# gradient on the examples of the step, and keeps a *cost history*:
#
# * compute each step's gradient by calling `gradient(X_batch, y_batch, theta)` once per step,
#   with `X_batch` shaped `[batch, d]` and `y_batch` shaped `[batch]` (one example is a batch of
#   one: `X[i:i + 1]`, `y[i:i + 1]`);
# * `costs[0]` is `cost(X, y, theta)` on the **whole** training set before the first step, and
#   after every step append the cost on the whole training set again. With k steps the history
#   holds k + 1 values;
# * a learning rate that is too large makes the steps overshoot and the cost grow until it
#   overflows to `inf` (or `nan`). Do not crash and do not go on: as soon as a cost is not finite
#   (`np.isfinite`), stop and return. The history then ends with that value, which is how the
#   caller sees that the run *diverged* (the helper `diverged` below checks it);
# * return `(theta, costs)`: the final parameters `[d]` and the history as a 1-D array.
#
# Do not change the array passed in as `theta`: work on a copy (`theta - ...` makes a new array;
# `theta -= ...` would change the caller's).

# %%
def diverged(costs):
    """True when a run blew up: its last cost is not finite, or it ended above where it began."""
    return bool(not np.isfinite(costs[-1]) or costs[-1] > costs[0])


# %% [markdown]
# ## 3. Batch gradient descent: `batch_gradient_descent`
#
# Every step uses all m examples, so an epoch is a single step. The steps are accurate but each
# one costs a full pass over the data.

# %%
def batch_gradient_descent(X, y, theta, learning_rate, n_epochs):
    """Gradient descent with the gradient on the whole training set, one step per epoch.

    Args:
        X: float array ``[m, d]``; y: float array ``[m]``.
        theta: float array ``[d]``, the starting parameters (not changed).
        learning_rate: float, the step size.
        n_epochs: int, the number of steps (one per epoch).

    Returns:
        ``(theta, costs)``: the final parameters ``[d]`` and the cost history, a 1-D array of
        ``n_epochs + 1`` costs on the whole set (fewer if the run diverged and stopped early).
    """
    ### BEGIN SOLUTION
    theta = np.array(theta, dtype=float)
    costs = [cost(X, y, theta)]
    for _ in range(n_epochs):
        theta = theta - learning_rate * gradient(X, y, theta)
        costs.append(cost(X, y, theta))
        if not np.isfinite(costs[-1]):
            break
    return theta, np.array(costs)
    ### END SOLUTION


# %% tags=["selfcheck"]
_best = np.linalg.lstsq(X_train, y_train, rcond=None)[0]  # the least-squares solution
_start = np.zeros(2)
_theta, _costs = batch_gradient_descent(X_train, y_train, _start, 0.5, 500)
assert np.shape(_theta) == (2,) and np.shape(_costs) == (501,), "theta [2] and 501 costs expected"
assert np.all(_start == 0), "batch_gradient_descent changed the theta passed in"
assert np.all(np.diff(_costs) <= 1e-12), "with a small learning rate the cost should never rise"
assert np.allclose(_theta, _best, atol=1e-3), "500 steps should get very close to least squares"
print("batch gradient descent:", _theta, " least squares:", _best)

# %% [markdown]
# ## 4. Stochastic gradient descent: `stochastic_gradient_descent`
#
# Every step uses a single example, so an epoch is m cheap but noisy steps. To visit the examples
# in a fresh random order in every epoch, make a random generator once,
# `rng = np.random.default_rng(seed)`, and at the start of each epoch draw the order
# `rng.permutation(m)`. The same seed then gives the same run, which makes results repeatable.

# %%
def stochastic_gradient_descent(X, y, theta, learning_rate, n_epochs, seed=0):
    """SGD: one example per step, every example once per epoch, in a new random order each epoch.

    Args:
        X: float array ``[m, d]``; y: float array ``[m]``.
        theta: float array ``[d]``, the starting parameters (not changed).
        learning_rate: float, the step size.
        n_epochs: int, the number of passes over the training set (m steps each).
        seed: int, seeds ``np.random.default_rng`` for the order of the examples.

    Returns:
        ``(theta, costs)``: the final parameters ``[d]`` and the cost history, a 1-D array of
        ``m * n_epochs + 1`` costs on the whole set (fewer if the run diverged and stopped early).
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    theta = np.array(theta, dtype=float)
    costs = [cost(X, y, theta)]
    for _ in range(n_epochs):
        for i in rng.permutation(len(y)):
            theta = theta - learning_rate * gradient(X[i:i + 1], y[i:i + 1], theta)
            costs.append(cost(X, y, theta))
            if not np.isfinite(costs[-1]):
                return theta, np.array(costs)
    return theta, np.array(costs)
    ### END SOLUTION


# %% tags=["selfcheck"]
_theta, _costs = stochastic_gradient_descent(X_train, y_train, np.zeros(2), 0.05, 20, seed=1)
assert np.shape(_costs) == (100 * 20 + 1,), "100 examples x 20 epochs = 2000 steps, 2001 costs"
assert np.allclose(_theta, _best, atol=0.3), "SGD should end near the least-squares solution"
_again = stochastic_gradient_descent(X_train, y_train, np.zeros(2), 0.05, 20, seed=1)[0]
assert np.array_equal(_theta, _again), "the same seed should give the same run"
print("SGD:", _theta, " least squares:", _best)

# %% [markdown]
# ## 5. Mini-batch gradient descent: `minibatch_gradient_descent`
#
# The lecture's compromise: each step uses a batch of n examples. Shuffle at the start of every
# epoch as in SGD, then walk through the shuffled examples n at a time. When n does not divide m,
# the last batch of the epoch holds the examples that are left (fewer than n): every example is
# used exactly once per epoch.

# %%
def minibatch_gradient_descent(X, y, theta, learning_rate, n_epochs, batch_size, seed=0):
    """Mini-batch gradient descent: ``batch_size`` examples per step, reshuffled every epoch.

    Args:
        X: float array ``[m, d]``; y: float array ``[m]``.
        theta: float array ``[d]``, the starting parameters (not changed).
        learning_rate: float, the step size.
        n_epochs: int, the number of passes over the training set.
        batch_size: int n, the examples per step; the last batch of an epoch may be smaller.
        seed: int, seeds ``np.random.default_rng`` for the order of the examples.

    Returns:
        ``(theta, costs)``: the final parameters ``[d]`` and the cost history, a 1-D array of
        ``ceil(m / batch_size) * n_epochs + 1`` costs on the whole set (fewer if the run
        diverged and stopped early).
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    theta = np.array(theta, dtype=float)
    costs = [cost(X, y, theta)]
    for _ in range(n_epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            theta = theta - learning_rate * gradient(X[batch], y[batch], theta)
            costs.append(cost(X, y, theta))
            if not np.isfinite(costs[-1]):
                return theta, np.array(costs)
    return theta, np.array(costs)
    ### END SOLUTION


# %% [markdown]
# The self-check below looks inside: it puts a counting wrapper in place of `gradient` for one
# run and records how many examples each step used (the grader does something similar).

# %% tags=["selfcheck"]
_sizes, _gradient = [], gradient


def gradient(X, y, theta):  # counts the examples of each step, then computes as usual
    _sizes.append(len(X))
    return _gradient(X, y, theta)


try:
    _theta, _costs = minibatch_gradient_descent(X_train[:23], y_train[:23], np.zeros(2), 0.1, 2, 5)
finally:
    gradient = _gradient
assert _sizes == [5, 5, 5, 5, 3] * 2, f"23 examples in batches of 5, two epochs; got {_sizes}"
assert np.shape(_costs) == (11,), "10 steps should give 11 costs"
print("mini-batch: batch sizes per step", _sizes)

# %% [markdown]
# ## 6. The three methods side by side
#
# The same start, the same number of epochs. Per epoch, batch gradient descent takes one careful
# step, SGD takes m noisy ones and mini-batch something in between. The x-axis counts epochs, so
# SGD's and mini-batch's many steps are squeezed into each unit.

# %% tags=["demo"]
n_epochs = 50
theta0 = np.zeros(2)
runs = {
    "batch": batch_gradient_descent(X_train, y_train, theta0, 0.1, n_epochs),
    "stochastic": stochastic_gradient_descent(X_train, y_train, theta0, 0.02, n_epochs, seed=0),
    "mini-batch (n=10)": minibatch_gradient_descent(X_train, y_train, theta0, 0.1, n_epochs, 10,
                                                    seed=0),
}
best = np.linalg.lstsq(X_train, y_train, rcond=None)[0]

plt.figure(figsize=(7, 4))
for name, (_, costs) in runs.items():
    epochs = np.linspace(0, n_epochs, len(costs))
    plt.plot(epochs, costs, label=name, lw=1)
plt.axhline(cost(X_train, y_train, best), color="k", ls=":", label="least squares")
plt.yscale("log")
plt.xlabel("epoch")
plt.ylabel("cost J (whole training set)")
plt.title("cost history")
plt.legend()
plt.show()

# %% tags=["demo"]
grid = np.linspace(0, 2, 2)
plt.figure(figsize=(6, 4))
plt.plot(x_train, y_train, ".", color="grey", label="data")
for name, (theta, _) in runs.items():
    plt.plot(grid, predict(add_bias(grid), theta), label=f"{name}: {theta.round(2)}")
plt.plot(grid, predict(add_bias(grid), best), "k:", label=f"least squares: {best.round(2)}")
plt.xlabel("x")
plt.ylabel("y")
plt.title(f"fitted lines after {n_epochs} epochs")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 7. A learning rate too large
#
# Each step overshoots the minimum by more than it gained, the cost grows, and soon the numbers
# overflow. Your optimizers stop as soon as the cost is no longer finite and return the history,
# so a too-large learning rate is *reported*, not a crash.

# %% tags=["demo"]
plt.figure(figsize=(5, 3))
for rate in (0.1, 0.8, 2.0):
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the expected outcome here
        _, costs = batch_gradient_descent(X_train, y_train, theta0, rate, 500)
    verdict = "diverged" if diverged(costs) else "converged"
    print(f"learning rate {rate}: {len(costs) - 1} steps, {verdict}, last cost {costs[-1]:.3g}")
    plt.plot(costs[:30], ".-", label=f"rate {rate} ({verdict})")
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("cost J")
plt.title("the first 30 steps")
plt.legend()
plt.show()

# %% tags=["selfcheck"]
with np.errstate(over="ignore", invalid="ignore"):
    for _run in (
        lambda: batch_gradient_descent(X_train, y_train, np.zeros(2), 10.0, 1000),
        lambda: stochastic_gradient_descent(X_train, y_train, np.zeros(2), 10.0, 100),
        lambda: minibatch_gradient_descent(X_train, y_train, np.zeros(2), 10.0, 100, 10),
    ):
        _theta, _costs = _run()
        assert diverged(_costs), "a learning rate of 10 should diverge"
        assert not np.isfinite(_costs[-1]) and np.all(np.isfinite(_costs[:-1])), \
            "stop at the first cost that is not finite"
print("all three optimizers report divergence")


# %% [markdown]
# ## Check your work
#
# Save the notebook (Ctrl+S), then run the cell below. It grades the notebook as saved, with the
# course's hidden tests, in a process of its own (nothing of this kernel is used), and shows each
# test's points and, for a test that fails, what is wrong. `check("<function>")` shows the tests
# of one function.

# %% tags=["selfcheck"]
from coursekit import check  # noqa: E402

check()
