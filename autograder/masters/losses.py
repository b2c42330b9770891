# Master of the assignment `losses`. `autograder generate losses` makes from it the student
# notebook (assignments/) and the reference solution (solutions/). Solution regions are marked the
# nbgrader way; cells tagged "demo" and "selfcheck" run in the notebook but not while grading.

# %% [markdown]
# # Loss functions: squared loss and cross-entropy
#
# A network learns by making a number smaller: the **loss**, which measures how far its predictions
# $h$ are from the targets $y$. In this assignment you implement the lecture's loss functions,
# first in NumPy (so that every step is visible) and then in TensorFlow (so that they can become
# part of a network's graph, as in the MNIST assignment):
#
# | function | NumPy | TensorFlow |
# | --- | --- | --- |
# | squared loss | `squared_loss` | `tf_squared_loss` |
# | binary cross-entropy | `binary_cross_entropy` | `tf_binary_cross_entropy` |
# | softmax | `softmax` | `tf_softmax` |
# | softmax cross-entropy | `softmax_cross_entropy` | `tf_softmax_cross_entropy` |
#
# Each function comes with a docstring that says what goes in and what comes out (with shapes), and
# a short self-check after it. The grader runs many more checks than these: on many random inputs,
# and on the awkward inputs where a direct translation of the formula breaks down (predictions of
# exactly 0 or 1, logits in the thousands). Use only NumPy in the NumPy part and only TensorFlow
# operations in the TensorFlow part.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's log lines quiet
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1

# %% [markdown]
# ## 1. Squared loss (regression)
#
# For $N$ examples with predictions $h_i$ and real-valued targets $y_i$, the squared loss (the
# *mean squared error*) is
#
# $$L = \frac{1}{N} \sum_{i=1}^{N} (h_i - y_i)^2 .$$
#
# It is the *mean*, not the sum: the loss of a batch of 50 examples should be comparable to the
# loss of a batch of 5.

# %%
def squared_loss(h, y):
    """Mean squared error between predictions and targets.

    Args:
        h: float array ``[N]``, the predictions.
        y: float array ``[N]``, the targets.

    Returns:
        float: the scalar ``1/N * sum_i (h_i - y_i)^2``.
    """
    ### BEGIN SOLUTION
    return float(np.mean((h - y) ** 2))
    ### END SOLUTION


# %% tags=["selfcheck"]
_value = squared_loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0]))
assert np.ndim(_value) == 0, "squared_loss should return a single number"
assert np.isclose(_value, (0 + 4 + 9) / 3), "errors 0, 2, 3 should cost (0 + 4 + 9) / 3"
print("squared_loss: errors 0, 2, 3 cost", _value)

# %% [markdown]
# ## 2. Binary cross-entropy (two classes)
#
# For a yes/no question the network predicts a probability $h_i \in [0, 1]$ that the answer is
# "yes", and the label is $y_i \in \{0, 1\}$. The lecture's binary cross-entropy is
#
# $$L = -\frac{1}{N} \sum_{i=1}^{N} \Big[ y_i \log h_i + (1 - y_i) \log (1 - h_i) \Big] .$$
#
# For each example only one of the two terms counts: $-\log h_i$ if $y_i = 1$ and
# $-\log(1 - h_i)$ if $y_i = 0$. Mind the minus sign: logarithms of probabilities are negative or
# zero, and the loss must be positive or zero.
#
# **Predictions of exactly 0 or 1.** A sigmoid output can round to exactly 0.0 or 1.0, and then
# $\log 0 = -\infty$; worse, $0 \cdot \log 0$ is `nan`, and one `nan` spoils the whole mean.
# The cure is to *clip* the predictions into $[\varepsilon, 1 - \varepsilon]$ before taking
# logarithms, with a small $\varepsilon$. We use $\varepsilon = 10^{-7}$, the same value as Keras,
# so a confidently wrong prediction costs at most $-\log 10^{-7} \approx 16.1$ instead of infinity.
# (`np.clip` does the clipping.)

# %%
EPS = 1e-7  # predictions are clipped into [EPS, 1 - EPS] before taking logarithms


def binary_cross_entropy(h, y, eps=EPS):
    """Mean binary cross-entropy of predicted probabilities against 0/1 labels.

    Args:
        h: float array ``[N]`` of predicted probabilities in ``[0, 1]`` (0 and 1 included).
        y: float array ``[N]`` of labels, each 0.0 or 1.0.
        eps: predictions are clipped into ``[eps, 1 - eps]`` first, so the result is finite.

    Returns:
        float: the scalar ``-1/N * sum_i [y_i log h_i + (1 - y_i) log(1 - h_i)]``.
    """
    ### BEGIN SOLUTION
    h = np.clip(h, eps, 1 - eps)
    return float(-np.mean(y * np.log(h) + (1 - y) * np.log(1 - h)))
    ### END SOLUTION


# %% tags=["selfcheck"]
_value = binary_cross_entropy(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
assert np.ndim(_value) == 0, "binary_cross_entropy should return a single number"
assert np.isclose(_value, np.log(2)), "predicting 0.5 should cost log(2) whatever the label"
_value = binary_cross_entropy(np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0]))
assert np.isfinite(_value), "predictions of exactly 0 or 1 should still give a finite loss"
print("binary_cross_entropy: 0.5 costs log(2); exact 0s and 1s cost", _value)

# %% [markdown]
# ### Picture: how much does a wrong prediction cost?
#
# The loss of a single example as a function of the prediction $h$, for the label $y = 1$ (left)
# and $y = 0$ (right). The squared loss never costs more than 1, however confident and wrong the
# prediction; the cross-entropy grows without bound as the prediction approaches the wrong end
# (here up to the clipping limit of about 16), which is why it trains classifiers much better.

# %% tags=["demo"]
_h = np.linspace(0.0, 1.0, 201)
_ones = np.ones(1)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, label in zip(axes, (1.0, 0.0), strict=True):
    ax.plot(_h, [squared_loss(np.array([p]), label * _ones) for p in _h], label="squared loss")
    ax.plot(_h, [binary_cross_entropy(np.array([p]), label * _ones) for p in _h],
            label="binary cross-entropy")
    ax.set_xlabel("prediction h")
    ax.set_ylabel("loss")
    ax.set_ylim(0, 5)
    ax.set_title(f"one example with label y = {label:g}")
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Softmax (many classes)
#
# With $K$ classes the network's last layer outputs $K$ scores $z_1, \dots, z_K$, the *logits*.
# The softmax turns each row of logits into probabilities that are positive and sum to 1:
#
# $$\mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}} .$$
#
# **Large logits.** `np.exp(1000.0)` is `inf` (a float64 overflows above about 709), and
# `inf / inf` is `nan`. Subtracting the same number $c$ from every logit of a row does not change
# the softmax, because the factor $e^{-c}$ cancels:
#
# $$\frac{e^{z_k - c}}{\sum_j e^{z_j - c}} = \frac{e^{-c} e^{z_k}}{e^{-c} \sum_j e^{z_j}}
# = \mathrm{softmax}(z)_k .$$
#
# Choose $c = \max_j z_j$, the row's largest logit: then every exponent is $\le 0$, nothing
# overflows, and the largest term is $e^0 = 1$, so the sum is at least 1. The input is a *batch*:
# one row per example, and the maximum and the sum are taken along each row (`axis=1`, with
# `keepdims=True` so that the result broadcasts back over the row).

# %%
def softmax(z):
    """Softmax of each row of a batch of logits, safe for logits of any size.

    Args:
        z: float array ``[N, K]``: N examples, K logits each.

    Returns:
        float array ``[N, K]``: row i is ``exp(z_i) / sum(exp(z_i))``; every row sums to 1.
    """
    ### BEGIN SOLUTION
    shifted = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION


# %% tags=["selfcheck"]
_p = softmax(np.array([[0.0, 0.0], [1.0, 2.0], [1000.0, 0.0]]))
assert np.shape(_p) == (3, 2), "softmax should keep the shape [N, K] of its input"
assert np.allclose(np.sum(_p, axis=1), 1.0), "each row of the softmax should sum to 1"
assert np.allclose(_p[0], [0.5, 0.5]), "equal logits should give equal probabilities"
assert np.all(np.isfinite(_p)), "a logit of 1000 should not give inf or nan"
print("softmax:\n", _p)

# %% [markdown]
# ### Picture: logits and the probabilities they give
#
# The softmax keeps the order of the logits. Multiplying the logits by 5 makes the distribution
# sharper (it puts nearly all probability on the largest); dividing them makes it flatter.

# %% tags=["demo"]
_z = np.array([[2.0, 1.0, 0.1, -1.0]])
fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), sharey=True)
for ax, factor in zip(axes, (0.2, 1.0, 5.0), strict=True):
    ax.bar(range(_z.shape[1]), softmax(factor * _z)[0])
    ax.set_xticks(range(_z.shape[1]))
    ax.set_title(f"softmax({factor:g} * z)")
    ax.set_xlabel("class")
axes[0].set_ylabel("probability")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Softmax cross-entropy (from logits and one-hot labels)
#
# With one-hot labels ($y_{ik} = 1$ for the true class of example $i$, 0 for the others) and
# $p_i = \mathrm{softmax}(z_i)$, the cross-entropy is
#
# $$L = -\frac{1}{N} \sum_{i=1}^{N} \sum_{k=1}^{K} y_{ik} \log p_{ik} ,$$
#
# which is the mean over the batch of $-\log$ (the probability given to the true class).
#
# Computing `np.log(softmax(z))` is not safe: for large logits a probability can underflow to
# exactly 0, and $\log 0 = -\infty$. Work with logarithms all the way instead. With
# $c_i = \max_j z_{ij}$,
#
# $$\log p_{ik} = (z_{ik} - c_i) - \log \sum_{j} e^{z_{ij} - c_i} ,$$
#
# where every exponent is $\le 0$ and the sum is at least 1, so its logarithm is finite and
# so is $\log p_{ik}$. (The second term is the "log-sum-exp" trick.) This is what TensorFlow's
# `tf.nn.softmax_cross_entropy_with_logits` does inside, and why it takes logits, not
# probabilities.

# %%
def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy of a batch, computed stably from the logits.

    Args:
        logits: float array ``[N, K]``, the scores before the softmax.
        labels: float array ``[N, K]`` of one-hot labels (a single 1.0 in each row).

    Returns:
        float: the scalar ``-1/N * sum_i sum_k labels[i, k] * log(softmax(logits)[i, k])``,
        finite even for logits in the thousands.
    """
    ### BEGIN SOLUTION
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return float(-np.mean(np.sum(labels * log_p, axis=-1)))
    ### END SOLUTION


# %% tags=["selfcheck"]
_labels = np.eye(3)[[0, 2]]
_value = softmax_cross_entropy(np.zeros((2, 3)), _labels)
assert np.ndim(_value) == 0, "softmax_cross_entropy should return a single number"
assert np.isclose(_value, np.log(3)), "equal logits over 3 classes should cost log(3)"
_value = softmax_cross_entropy(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 2000.0]]),
                               np.eye(3)[[2, 0]])
assert np.isfinite(_value), "logits in the thousands should still give a finite loss"
assert np.isclose(_value, 2000.0), "true-class logits 2000 below the largest should cost 2000"
print("softmax_cross_entropy: uniform logits cost log(3); confidently wrong ones cost", _value)

# %% [markdown]
# ### Picture: the cost of one example as its true class's logit grows
#
# Three classes, the true class is class 0, the other two logits are 0. As the true class's logit
# $z_0$ grows the loss falls towards 0; as it falls, the loss grows almost linearly, about
# $-z_0$, which is exactly what the stable formula computes without ever forming
# $\log 0$.

# %% tags=["demo"]
_z0 = np.linspace(-10, 10, 201)
_costs = [softmax_cross_entropy(np.array([[v, 0.0, 0.0]]), np.eye(3)[:1]) for v in _z0]
plt.figure(figsize=(5, 3))
plt.plot(_z0, _costs)
plt.xlabel("logit of the true class, z0")
plt.ylabel("cross-entropy")
plt.title("one example, 3 classes, other logits 0")
plt.show()

# %% [markdown]
# ## 5. The same losses in TensorFlow
#
# In a network the loss is part of the computation TensorFlow differentiates, so it must be built
# from TensorFlow operations: `tf.reduce_mean`, `tf.reduce_sum`, `tf.reduce_max`, `tf.square`,
# `tf.exp`, `tf.math.log`, `tf.clip_by_value`, arithmetic with `+ - * /`. The reductions take
# `axis=` and `keepdims=` like NumPy's. No NumPy functions and no `.numpy()` inside these
# functions: they receive tensors and return a tensor.
#
# TensorFlow runs the same code in two ways, and your functions must work in both:
#
# * **eagerly** (TensorFlow 2's default): `tf_squared_loss(tf.constant(h), tf.constant(y))`
#   computes the value at once; `.numpy()` gives it as a NumPy number;
# * **in a graph** (TensorFlow 1's style, used in the MNIST assignment and by the grader): inside
#   `with tf.Graph().as_default():` the inputs are placeholders, your function only *describes* the
#   computation, and a `Session` runs it with values fed through `feed_dict`.
#
# The helper below does the graph version for you, so the self-checks can try both.

# %%
def run_in_graph(fn, *arrays):
    """Call ``fn`` on placeholders in a fresh graph and run its result with ``arrays`` fed in."""
    graph = tf.Graph()
    with graph.as_default():
        placeholders = [tf1.placeholder(tf.as_dtype(a.dtype), a.shape) for a in arrays]
        result = fn(*placeholders)
        with tf1.Session(graph=graph) as sess:
            return sess.run(result, feed_dict=dict(zip(placeholders, arrays, strict=True)))


# %% [markdown]
# ### 5.1 `tf_squared_loss`
#
# TensorFlow's own version is `tf.keras.losses.MeanSquaredError()(y, h)` (note the order: labels
# first). Yours must agree with it.

# %%
def tf_squared_loss(h, y):
    """Mean squared error as a TensorFlow computation.

    Args:
        h: float32 tensor ``[N]``, the predictions.
        y: float32 tensor ``[N]``, the targets.

    Returns:
        float32 scalar tensor (shape ``[]``): ``1/N * sum_i (h_i - y_i)^2``.
    """
    ### BEGIN SOLUTION
    return tf.reduce_mean(tf.square(h - y))
    ### END SOLUTION


# %% tags=["selfcheck"]
_h = np.array([1.0, 2.0, 3.0], np.float32)
_y = np.array([1.0, 0.0, 0.0], np.float32)
_eager = tf_squared_loss(tf.constant(_h), tf.constant(_y))
assert _eager.shape == (), "tf_squared_loss should return a scalar tensor"
assert np.isclose(_eager.numpy(), 13 / 3), "errors 0, 2, 3 should cost 13/3"
assert np.isclose(run_in_graph(tf_squared_loss, _h, _y), 13 / 3), "the graph version differs"
assert np.isclose(_eager.numpy(), tf.keras.losses.MeanSquaredError()(_y, _h).numpy())
print("tf_squared_loss agrees with Keras, eagerly and in a graph:", _eager.numpy())

# %% [markdown]
# ### 5.2 `tf_binary_cross_entropy`
#
# Clip as in NumPy, with `tf.clip_by_value(h, eps, 1 - eps)`. TensorFlow's version is
# `tf.keras.losses.BinaryCrossentropy()(y, h)`, which clips with the same $\varepsilon = 10^{-7}$.
# (In float32, $1 - 10^{-7}$ rounds to $1 - 1.19 \cdot 10^{-7}$, so at exact 0s and 1s the float32
# result differs from the float64 one in the third digit; that is expected.)

# %%
def tf_binary_cross_entropy(h, y, eps=EPS):
    """Mean binary cross-entropy as a TensorFlow computation.

    Args:
        h: float32 tensor ``[N]`` of predicted probabilities in ``[0, 1]`` (0 and 1 included).
        y: float32 tensor ``[N]`` of labels, each 0.0 or 1.0.
        eps: predictions are clipped into ``[eps, 1 - eps]`` first, so the result is finite.

    Returns:
        float32 scalar tensor (shape ``[]``): ``-1/N * sum_i [y_i log h_i + (1-y_i) log(1-h_i)]``.
    """
    ### BEGIN SOLUTION
    h = tf.clip_by_value(h, eps, 1 - eps)
    return -tf.reduce_mean(y * tf.math.log(h) + (1 - y) * tf.math.log(1 - h))
    ### END SOLUTION


# %% tags=["selfcheck"]
_h = np.array([0.9, 0.2, 0.0, 1.0], np.float32)
_y = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
_eager = tf_binary_cross_entropy(tf.constant(_h), tf.constant(_y))
_keras = tf.keras.losses.BinaryCrossentropy()(_y, _h).numpy()
assert _eager.shape == (), "tf_binary_cross_entropy should return a scalar tensor"
assert np.isfinite(_eager.numpy()), "predictions of exactly 0 or 1 should give a finite loss"
assert np.isclose(_eager.numpy(), _keras, rtol=1e-4), "the eager result differs from Keras"
assert np.isclose(run_in_graph(tf_binary_cross_entropy, _h, _y), _keras, rtol=1e-4), \
    "the graph result differs from Keras"
print("tf_binary_cross_entropy agrees with Keras:", _eager.numpy())

# %% [markdown]
# ### 5.3 `tf_softmax`
#
# The same max-subtraction as in NumPy, with `tf.reduce_max(z, axis=1, keepdims=True)`.
# In float32, `tf.exp` overflows already above about 88, so the trick matters even more here.
# TensorFlow's version is `tf.nn.softmax(z)`.

# %%
def tf_softmax(z):
    """Row-wise softmax as a TensorFlow computation, safe for logits of any size.

    Args:
        z: float32 tensor ``[N, K]`` of logits.

    Returns:
        float32 tensor ``[N, K]`` whose rows are probabilities summing to 1.
    """
    ### BEGIN SOLUTION
    e = tf.exp(z - tf.reduce_max(z, axis=-1, keepdims=True))
    return e / tf.reduce_sum(e, axis=-1, keepdims=True)
    ### END SOLUTION


# %% tags=["selfcheck"]
_z = np.array([[0.0, 0.0], [1.0, 2.0], [1000.0, 0.0]], np.float32)
_eager = tf_softmax(tf.constant(_z)).numpy()
assert _eager.shape == (3, 2), "tf_softmax should keep the shape [N, K]"
assert np.all(np.isfinite(_eager)), "a logit of 1000 should not give inf or nan"
assert np.allclose(_eager, tf.nn.softmax(_z).numpy(), atol=1e-6), "differs from tf.nn.softmax"
assert np.allclose(run_in_graph(tf_softmax, _z), _eager, atol=1e-6), "the graph result differs"
print("tf_softmax agrees with tf.nn.softmax:\n", _eager)

# %% [markdown]
# ### 5.4 `tf_softmax_cross_entropy`
#
# The stable formula of section 4 with TensorFlow operations. (TensorFlow also has
# `tf.reduce_logsumexp`, which computes $\log \sum_j e^{z_{ij}}$ stably in one step; you may use
# it.) TensorFlow's own version is
# `tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))`, the
# loss of the MNIST assignment.

# %%
def tf_softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy of a batch as a TensorFlow computation, stable for large logits.

    Args:
        logits: float32 tensor ``[N, K]``, the scores before the softmax.
        labels: float32 tensor ``[N, K]`` of one-hot labels.

    Returns:
        float32 scalar tensor (shape ``[]``): the mean over the batch of
        ``-sum_k labels[i, k] * log(softmax(logits)[i, k])``.
    """
    ### BEGIN SOLUTION
    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
    log_p = shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=-1, keepdims=True))
    return -tf.reduce_mean(tf.reduce_sum(labels * log_p, axis=-1))
    ### END SOLUTION


# %% tags=["selfcheck"]
_z = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [1000.0, 0.0, -1000.0]], np.float32)
_labels = np.eye(3, dtype=np.float32)[[0, 1, 2]]
_library = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=_labels, logits=_z))
_eager = tf_softmax_cross_entropy(tf.constant(_z), tf.constant(_labels))
assert _eager.shape == (), "tf_softmax_cross_entropy should return a scalar tensor"
assert np.isfinite(_eager.numpy()), "logits in the thousands should still give a finite loss"
assert np.isclose(_eager.numpy(), _library.numpy(), rtol=1e-5), "differs from tf.nn's result"
assert np.isclose(run_in_graph(tf_softmax_cross_entropy, _z, _labels), _library.numpy(),
                  rtol=1e-5), "the graph result differs"
print("tf_softmax_cross_entropy agrees with tf.nn:", _eager.numpy())

# %% [markdown]
# ## All together
#
# One random batch, every loss three ways: your NumPy version, your TensorFlow version, and
# TensorFlow's library function. The three columns should agree to about six digits (float32).

# %% tags=["demo"]
_rng = np.random.default_rng(0)
_h = _rng.uniform(0.0, 1.0, 8).astype(np.float32)
_y = _rng.integers(0, 2, 8).astype(np.float32)
_z = _rng.normal(0.0, 3.0, (8, 5)).astype(np.float32)
_onehot = np.eye(5, dtype=np.float32)[_rng.integers(0, 5, 8)]
_rows = [
    ("squared loss", squared_loss(_h, _y), tf_squared_loss(tf.constant(_h), tf.constant(_y)),
     tf.keras.losses.MeanSquaredError()(_y, _h)),
    ("binary cross-entropy", binary_cross_entropy(_h, _y),
     tf_binary_cross_entropy(tf.constant(_h), tf.constant(_y)),
     tf.keras.losses.BinaryCrossentropy()(_y, _h)),
    ("softmax cross-entropy", softmax_cross_entropy(_z, _onehot),
     tf_softmax_cross_entropy(tf.constant(_z), tf.constant(_onehot)),
     tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=_onehot, logits=_z))),
]
print(f"{'loss':<24}{'NumPy':>12}{'TensorFlow':>12}{'library':>12}")
for _name, _mine, _tf, _lib in _rows:
    print(f"{_name:<24}{float(_mine):>12.6f}{float(_tf):>12.6f}{float(_lib):>12.6f}")


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
