# Master of the assignment `backprop`. `autograder generate backprop` makes from it the student
# notebook (assignments/) and the reference solution (solutions/). Solution regions are marked the
# nbgrader way; cells tagged "demo" and "selfcheck" run in the notebook but not while grading.

# %% [markdown]
# # The chain rule and backpropagation
#
# A network learns by gradient descent, and gradient descent needs the gradient of the loss with
# respect to every weight. **Backpropagation** computes all of them in one backward sweep through
# the network, and it is nothing but the **chain rule** applied again and again. In this
# assignment you compute gradients by hand, in NumPy, so that you see every step that
# `tf.GradientTape` (or `optimizer.minimize`) takes for you:
#
# | part | you implement |
# | --- | --- |
# | 1. the chain rule on numbers | `sin_of_square`, `sigmoid_neuron` |
# | 2. checking gradients numerically | `numerical_gradient` |
# | 3. layers, forward and backward | `affine_forward`, `affine_backward`, `relu_forward`, `relu_backward` |
# | 4. the gradient of the loss | `softmax_cross_entropy_backward` |
# | 5. the lecture's 784-100-10 network | `network_forward`, `network_gradients` |
#
# Each function has a docstring that says what goes in and what comes out (with shapes), and a
# short self-check after it. The grader checks many more inputs, compares your gradients with
# centred differences and with TensorFlow's `tf.GradientTape`, and looks at the awkward places
# (a ReLU input of exactly 0). Use NumPy only; all arrays are `float64`.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow (in a demo at the end) stays quiet
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import matplotlib.pyplot as plt
import numpy as np

# %% [markdown]
# ## 1. The chain rule
#
# If $z$ depends on $y$ and $y$ depends on $x$, a small change of $x$ changes $y$, which changes
# $z$; the rates multiply:
#
# $$\frac{dz}{dx} = \frac{dz}{dy} \cdot \frac{dy}{dx} .$$
#
# A longer composition $x \to y_1 \to y_2 \to z$ just gives a longer product,
# $\frac{dz}{dx} = \frac{dz}{dy_2} \cdot \frac{dy_2}{dy_1} \cdot \frac{dy_1}{dx}$.
# To compute it, go **forward** once to get every intermediate value, then go **backward**
# multiplying local derivatives, each evaluated at the value the forward pass found.
#
# A worked example, $z = (3x + 1)^2$ with $y = 3x + 1$: $\frac{dz}{dy} = 2y$ and
# $\frac{dy}{dx} = 3$, so $\frac{dz}{dx} = 2y \cdot 3$.

# %%
def square_of_affine(x):
    """Worked example: ``z = (3x + 1)^2`` and ``dz/dx`` by the chain rule, for a float ``x``."""
    y = 3 * x + 1  # forward: the inner function
    z = y**2  # forward: the outer function
    dz_dy = 2 * y  # backward: the outer function's local derivative, at the forward value y
    dy_dx = 3  # backward: the inner function's local derivative
    return z, dz_dy * dy_dx


# %% tags=["selfcheck"]
print("square_of_affine(1.0) =", square_of_affine(1.0), " (z = 16, dz/dx = 2 * 4 * 3 = 24)")

# %% [markdown]
# ### Your turn: $z = \sin(x^2)$
#
# Write it as $y = x^2$, $z = \sin(y)$, and follow the worked example.

# %%
def sin_of_square(x):
    """``z = sin(x^2)`` and its derivative.

    Args:
        x: a float.

    Returns:
        ``(z, dz_dx)``: two floats, the value ``sin(x^2)`` and the derivative ``dz/dx`` at ``x``.
    """
    ### BEGIN SOLUTION
    y = x**2
    z = np.sin(y)
    dz_dx = np.cos(y) * 2 * x  # dz/dy = cos(y), dy/dx = 2x
    return z, dz_dx
    ### END SOLUTION


# %% tags=["selfcheck"]
_z, _dz = sin_of_square(np.sqrt(np.pi))
assert np.isclose(_z, 0.0, atol=1e-12), "sin(pi) is 0"
assert np.isclose(_dz, -2 * np.sqrt(np.pi)), "at x = sqrt(pi): cos(pi) * 2 sqrt(pi)"
print("sin_of_square: value and derivative at sqrt(pi) are right")

# %% [markdown]
# ### A longer chain: one sigmoid neuron and its loss
#
# A neuron with weight $w$ and bias $b$ sees an input $x$ and should output the target $t$:
#
# $$a = w x + b, \qquad h = \sigma(a) = \frac{1}{1 + e^{-a}}, \qquad L = \tfrac12 (h - t)^2 .$$
#
# Training needs $\frac{\partial L}{\partial w}$ and $\frac{\partial L}{\partial b}$. The chain
# is $w \to a \to h \to L$:
# $\frac{\partial L}{\partial w} = \frac{\partial L}{\partial h} \cdot \frac{\partial h}{\partial a}
# \cdot \frac{\partial a}{\partial w}$, and the same for $b$, with the last factor
# $\frac{\partial a}{\partial b}$ instead. A useful fact: $\sigma'(a) = \sigma(a)\,(1 - \sigma(a))$.
# Notice that both gradients share the first two factors: compute $\frac{\partial L}{\partial a}$
# once and reuse it. Sharing the common part of the chain is what makes backpropagation cheap.

# %%
def sigmoid(a):
    """The logistic function ``1 / (1 + exp(-a))``, for floats or arrays."""
    return 1.0 / (1.0 + np.exp(-a))


def sigmoid_neuron(w, x, b, t):
    """Squared-error loss of one sigmoid neuron and its gradients.

    Args:
        w, x, b: floats, the weight, the input and the bias.
        t: float, the target output.

    Returns:
        ``(loss, dloss_dw, dloss_db)``: three floats, ``L = 1/2 (sigmoid(w x + b) - t)^2`` and its
        partial derivatives with respect to ``w`` and ``b``.
    """
    ### BEGIN SOLUTION
    a = w * x + b
    h = sigmoid(a)
    loss = 0.5 * (h - t) ** 2
    dloss_dh = h - t
    dloss_da = dloss_dh * h * (1 - h)
    return loss, dloss_da * x, dloss_da
    ### END SOLUTION


# %% tags=["selfcheck"]
_loss, _dw, _db = sigmoid_neuron(0.0, 3.0, 0.0, 1.0)
# a = 0, h = 1/2: L = 1/8, dL/dh = -1/2, dh/da = 1/4, so dL/da = -1/8
assert np.isclose(_loss, 0.125), "with w = b = 0 the neuron outputs 1/2: the loss is 1/8"
assert np.isclose(_db, -0.125), "dL/db = dL/dh * dh/da * 1 = (-1/2) * (1/4)"
assert np.isclose(_dw, -0.375), "dL/dw = dL/da * x with x = 3"
print("sigmoid_neuron: loss and gradients at w = b = 0 are right")

# %% [markdown]
# The computational graph of the neuron: the forward pass writes a value on every node (black),
# the backward pass carries $\partial L / \partial(\cdot)$ back to the parameters (red).

# %% tags=["demo"]
def draw_neuron_graph(w, x, b, t):
    a = w * x + b
    h = sigmoid(a)
    try:
        loss, dw, db = sigmoid_neuron(w, x, b, t)
        grads = {"w": f"{dw:.3f}", "b": f"{db:.3f}"}
    except NotImplementedError:
        loss, grads = 0.5 * (h - t) ** 2, {"w": "?", "b": "?"}
    nodes = {"x": (0, 2, f"x = {x:g}"), "w": (0, 1, f"w = {w:g}"), "b": (1, 0, f"b = {b:g}"),
             "a": (2, 1.5, f"a = wx + b\n= {a:.3f}"), "h": (4, 1.5, f"h = σ(a)\n= {h:.3f}"),
             "t": (4, 0, f"t = {t:g}"), "L": (6, 1.5, f"L = ½(h - t)²\n= {loss:.3f}")}
    edges = [("x", "a"), ("w", "a"), ("b", "a"), ("a", "h"), ("h", "L"), ("t", "L")]
    _, ax = plt.subplots(figsize=(8, 3))
    for src, dst in edges:
        ax.annotate("", xy=nodes[dst][:2], xytext=nodes[src][:2],
                    arrowprops={"arrowstyle": "->", "shrinkA": 28, "shrinkB": 28})
    for key, (px, py, text) in nodes.items():
        ax.text(px, py, text, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "lightyellow"})
        if key in grads:
            ax.text(px, py - 0.45, f"∂L/∂{key} = {grads[key]}", ha="center", color="red",
                    fontsize=9)
    ax.set_xlim(-0.8, 6.8)
    ax.set_ylim(-0.8, 2.6)
    ax.axis("off")
    plt.show()


draw_neuron_graph(w=0.5, x=2.0, b=-0.3, t=1.0)

# %% [markdown]
# ## 2. Checking a gradient numerically
#
# A gradient computed by hand is easy to get subtly wrong, so we check it against the definition
# of the derivative. The **centred difference**
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$$
#
# (where $e_i$ is 1 at position $i$ and 0 elsewhere) has an error proportional to $h^2$, while the
# one-sided difference $\frac{f(x + h e_i) - f(x)}{h}$ is only accurate to about $h$. With
# $h = 10^{-5}$ and `float64`, a correct gradient agrees with centred differences to a
# **relative error** of about $10^{-7}$ or better, where we measure the relative error as
#
# $$\text{rel\_error}(a, b) = \max_i \frac{|a_i - b_i|}{\max(10^{-8}, |a_i| + |b_i|)} .$$
#
# Around $10^{-7}$ or below: the gradient is right. Around $10^{-2}$ or above: it is surely wrong.

# %%
def rel_error(a, b):
    """The largest relative difference between two arrays (or numbers) of the same shape."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# %% [markdown]
# Now write the numerical gradient of a function `f` that maps an array to a number. Change one
# entry of `x` at a time (`np.ndindex(x.shape)` walks through all positions of an array of any
# shape), and put it back afterwards: the caller's array must hold its original values when your
# function returns.

# %%
def numerical_gradient(f, x, h=1e-5):
    """The gradient of ``f`` at ``x`` by centred differences.

    Args:
        f: a function that takes a float array shaped like ``x`` and returns a float.
        x: float64 array of any shape, the point at which to differentiate. You may change its
            entries during the call, but it must hold its original values when you return.
        h: float, the step.

    Returns:
        float64 array shaped like ``x``: entry ``i`` is ``(f(x + h e_i) - f(x - h e_i)) / (2h)``.
    """
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        f_plus = f(x)
        x[index] = old - h
        f_minus = f(x)
        x[index] = old
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %% tags=["selfcheck"]
_x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
_x_before = _x.copy()
_g = numerical_gradient(lambda v: np.sum(v**2), _x)
assert _g.shape == _x.shape, "the gradient has the shape of x"
assert rel_error(_g, 2 * _x_before) < 1e-8, "the gradient of sum(x^2) is 2x"
assert np.array_equal(_x, _x_before), "numerical_gradient must leave x as it found it"
_, _dz = sin_of_square(1.3)
_num = numerical_gradient(lambda v: sin_of_square(v[0])[0], np.array([1.3]))[0]
print("sum(x^2): fine;  sin_of_square at 1.3: rel_error =", rel_error(_dz, _num))

# %% [markdown]
# Why centred? The plot shows how far each kind of difference is from the true derivative of
# $\sin(x^2)$ at $x = 1.3$, for steps $h$ from $10^{-1}$ down to $10^{-12}$. Going right to left the
# error first shrinks (like $h$ or $h^2$); for tiny $h$ it grows again, because $f(x + h)$ and
# $f(x - h)$ agree in almost all their digits and the subtraction loses them (round-off).

# %% tags=["demo"]
_hs = np.logspace(-12, -1, 45)
_x0 = 1.3
_exact = np.cos(_x0**2) * 2 * _x0
_one_sided = [abs((np.sin((_x0 + s) ** 2) - np.sin(_x0**2)) / s - _exact) / abs(_exact)
              for s in _hs]
_centred = [abs((np.sin((_x0 + s) ** 2) - np.sin((_x0 - s) ** 2)) / (2 * s) - _exact) / abs(_exact)
            for s in _hs]
plt.figure(figsize=(5, 3.2))
plt.loglog(_hs, _one_sided, ".-", label="one-sided (f(x+h) - f(x)) / h")
plt.loglog(_hs, _centred, ".-", label="centred (f(x+h) - f(x-h)) / 2h")
plt.axvline(1e-5, color="grey", lw=0.8, ls=":", label="h = 1e-5, our choice")
plt.xlabel("step h")
plt.ylabel("relative error")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 3. Layers with a forward and a backward pass
#
# A network is a chain of **layers**. Each layer has a *forward* pass (inputs to output) and a
# *backward* pass: given the **upstream gradient** `dout` $= \partial L / \partial\,\text{out}$
# (same shape as its output), it returns $\partial L / \partial(\text{each input})$, by the chain
# rule, with the same shape as that input. The backward pass needs the forward pass's inputs,
# so we hand them over again.
#
# We follow the lecture's convention: a batch of $N$ examples is a matrix with one example per
# **row**, so an **affine** (fully connected) layer with weights $W$ `[D, M]` and bias $b$ `[M]`
# computes `out = x @ W + b`, shape `[N, M]`, with $b$ added to every row.
#
# Hints for the backward pass: work out one entry first,
# $\text{out}_{nm} = \sum_d x_{nd} W_{dm} + b_m$, and ask which entries of `out` a given $W_{dm}$
# or $b_m$ touches; every one of them passes its share of `dout` back. Then check shapes: each
# gradient has the shape of what it is the gradient of.

# %%
def affine_forward(x, w, b):
    """Forward pass of an affine (fully connected) layer.

    Args:
        x: float64 array ``[N, D]``, a batch of N inputs.
        w: float64 array ``[D, M]``, the weights.
        b: float64 array ``[M]``, the bias.

    Returns:
        float64 array ``[N, M]``: ``x @ w + b``.
    """
    ### BEGIN SOLUTION
    return x @ w + b
    ### END SOLUTION


def affine_backward(dout, x, w):
    """Backward pass of an affine layer.

    Args:
        dout: float64 array ``[N, M]``, the upstream gradient dL/d(out).
        x: float64 array ``[N, D]``, the input of the forward pass.
        w: float64 array ``[D, M]``, the weights of the forward pass.

    Returns:
        ``(dx, dw, db)``: float64 arrays ``[N, D]``, ``[D, M]`` and ``[M]``, the gradients of the
        loss with respect to ``x``, ``w`` and ``b``.
    """
    ### BEGIN SOLUTION
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


# %% tags=["selfcheck"]
_rng = np.random.default_rng(0)
_x, _w, _b = _rng.normal(size=(4, 5)), _rng.normal(size=(5, 3)), _rng.normal(size=3)
_dout = _rng.normal(size=(4, 3))
assert affine_forward(_x, _w, _b).shape == (4, 3), "out has shape [N, M]"
_dx, _dw, _db = affine_backward(_dout, _x, _w)
assert (_dx.shape, _dw.shape, _db.shape) == ((4, 5), (5, 3), (3,)), \
    "each gradient has the shape of its input"
# L = sum(out * dout) has dL/d(out) = dout: the numerical gradient of L checks the backward pass
for _name, _mine, _num in (
    ("dx", _dx, numerical_gradient(lambda v: np.sum(affine_forward(v, _w, _b) * _dout), _x)),
    ("dw", _dw, numerical_gradient(lambda v: np.sum(affine_forward(_x, v, _b) * _dout), _w)),
    ("db", _db, numerical_gradient(lambda v: np.sum(affine_forward(_x, _w, v) * _dout), _b)),
):
    print(f"affine_backward {_name}: rel_error = {rel_error(_mine, _num):.1e}")
    assert rel_error(_mine, _num) < 1e-7, f"{_name} disagrees with the numerical gradient"

# %% [markdown]
# The **ReLU** layer applies $\max(0, x)$ to every entry. Its derivative is 1 where $x > 0$ and 0
# where $x < 0$. At exactly $x = 0$ (the *kink*) the derivative does not exist; like TensorFlow,
# **we take it to be 0 there**: the backward pass lets `dout` through only where the input was
# strictly positive. (Exact zeros are common: a blank pixel and a zero bias give one.)

# %%
def relu_forward(x):
    """Forward pass of the ReLU layer.

    Args:
        x: float64 array of any shape.

    Returns:
        float64 array shaped like ``x``: ``max(0, x)`` entry by entry.
    """
    ### BEGIN SOLUTION
    return np.maximum(0.0, x)
    ### END SOLUTION


def relu_backward(dout, x):
    """Backward pass of the ReLU layer.

    Args:
        dout: float64 array, the upstream gradient, shaped like ``x``.
        x: float64 array, the input of the forward pass.

    Returns:
        float64 array shaped like ``x``: ``dout`` where ``x > 0``, and 0 where ``x <= 0``
        (the derivative at exactly 0 is taken to be 0).
    """
    ### BEGIN SOLUTION
    return dout * (x > 0)
    ### END SOLUTION


# %% tags=["selfcheck"]
_x = np.array([[-1.5, 0.0, 2.0]])
assert np.array_equal(relu_forward(_x), [[0.0, 0.0, 2.0]]), "max(0, x) entry by entry"
assert np.array_equal(relu_backward(np.array([[5.0, 6.0, 7.0]]), _x), [[0.0, 0.0, 7.0]]), \
    "dout passes only where x > 0 (and not at x = 0)"
print("relu_forward and relu_backward: fine on [-1.5, 0, 2]")

# %% [markdown]
# ## 4. The gradient of softmax cross-entropy
#
# The network's last layer outputs **logits** $s$ `[N, C]`; the loss turns them into probabilities
# with the softmax, $p_{nc} = e^{s_{nc}} / \sum_k e^{s_{nk}}$, and averages the cross-entropy with
# the one-hot labels $y$ over the batch:
#
# $$L = -\frac{1}{N} \sum_{n=1}^{N} \sum_{c=1}^{C} y_{nc} \log p_{nc} .$$
#
# Both are given below, written in the numerically stable way (subtract each row's largest logit
# first). Your job is the gradient $\partial L / \partial s$. Work it out for one example first:
# the chain goes through the softmax *and* the logarithm, and the result is surprisingly simple
# (write it in terms of $p$ and $y$). Then remember what the mean over the batch does.

# %%
def softmax(logits):
    """Row-wise softmax of ``logits`` ``[N, C]``: probabilities ``[N, C]`` whose rows sum to 1."""
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=1, keepdims=True)


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy of logits ``[N, C]`` and one-hot labels ``[N, C]``: a float."""
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return float(-np.sum(y * log_probs) / logits.shape[0])


def softmax_cross_entropy_backward(logits, y):
    """Gradient of ``softmax_cross_entropy(logits, y)`` with respect to the logits.

    Args:
        logits: float64 array ``[N, C]``.
        y: float64 array ``[N, C]`` of one-hot labels.

    Returns:
        float64 array ``[N, C]``: dL/d(logits), for the loss averaged over the batch.
    """
    ### BEGIN SOLUTION
    return (softmax(logits) - y) / logits.shape[0]
    ### END SOLUTION


# %% tags=["selfcheck"]
_y = np.eye(10)[[3, 7]]
_g = softmax_cross_entropy_backward(np.zeros((2, 10)), _y)
assert _g.shape == (2, 10), "the gradient has the logits' shape"
assert np.allclose(_g.sum(axis=1), 0.0), "each row of the gradient sums to 0"
_logits = np.random.default_rng(1).normal(size=(3, 10))
_y = np.eye(10)[[0, 4, 9]]
_num = numerical_gradient(lambda s: softmax_cross_entropy(s, _y), _logits.copy())
print("softmax_cross_entropy_backward: rel_error =",
      rel_error(softmax_cross_entropy_backward(_logits, _y), _num))

# %% [markdown]
# ## 5. Backpropagation through the lecture's network
#
# The network of the MNIST assignment: 784 inputs, a hidden layer of 100 ReLU units, 10 logits,
# with the weights and biases in two dictionaries keyed `'hidden1'` and `'output'`:
#
# $$a_1 = x W_1 + b_1, \quad h_1 = \mathrm{relu}(a_1), \quad s = h_1 W_2 + b_2, \quad
# L = \text{softmax\_cross\_entropy}(s, y).$$
#
# `network_forward` computes the logits $s$ with your layers. `network_gradients` runs the forward
# pass keeping the intermediate values, then walks **back** through the same layers in reverse
# order: the loss's gradient gives `dlogits`, the output layer's backward pass turns it into the
# gradients of $W_2$, $b_2$ and $h_1$, the ReLU's backward pass turns that into the gradient of
# $a_1$, and the hidden layer's backward pass gives those of $W_1$ and $b_1$.

# %%
n_input = 28 * 28
n_hidden1 = 100
n_output = 10


def init_params(seed=None):
    """Weights and biases of the 784-100-10 network, drawn from N(0, 0.1), as float64 arrays.

    Returns ``(weights, biases)``, two dicts keyed ``'hidden1'`` and ``'output'``:
    weights ``[784, 100]`` and ``[100, 10]``, biases ``[100]`` and ``[10]``.
    """
    rng = np.random.default_rng(seed)
    weights = {"hidden1": rng.normal(0, 0.1, (n_input, n_hidden1)),
               "output": rng.normal(0, 0.1, (n_hidden1, n_output))}
    biases = {"hidden1": rng.normal(0, 0.1, n_hidden1), "output": rng.normal(0, 0.1, n_output)}
    return weights, biases


def network_forward(x, weights, biases):
    """The network's forward pass, built from your layers.

    Args:
        x: float64 array ``[N, 784]``, a batch of flattened images.
        weights: dict with ``'hidden1'`` ``[784, 100]`` and ``'output'`` ``[100, 10]``.
        biases: dict with ``'hidden1'`` ``[100]`` and ``'output'`` ``[10]``.

    Returns:
        float64 array ``[N, 10]``: the logits (no softmax).
    """
    ### BEGIN SOLUTION
    hidden1 = relu_forward(affine_forward(x, weights["hidden1"], biases["hidden1"]))
    return affine_forward(hidden1, weights["output"], biases["output"])
    ### END SOLUTION


def network_gradients(x, y, weights, biases):
    """The loss of the network on a batch and its gradients, by backpropagation.

    Args:
        x: float64 array ``[N, 784]``, a batch of flattened images.
        y: float64 array ``[N, 10]``, their one-hot labels.
        weights, biases: the parameters, as for ``network_forward``.

    Returns:
        ``(loss, dweights, dbiases)``: the float ``softmax_cross_entropy(logits, y)``, and two dicts
        keyed ``'hidden1'`` and ``'output'`` holding dL/dW and dL/db, each shaped like its parameter.
    """
    ### BEGIN SOLUTION
    a1 = affine_forward(x, weights["hidden1"], biases["hidden1"])
    h1 = relu_forward(a1)
    logits = affine_forward(h1, weights["output"], biases["output"])
    loss = softmax_cross_entropy(logits, y)
    dlogits = softmax_cross_entropy_backward(logits, y)
    dh1, dw2, db2 = affine_backward(dlogits, h1, weights["output"])
    da1 = relu_backward(dh1, a1)
    _, dw1, db1 = affine_backward(da1, x, weights["hidden1"])
    return loss, {"hidden1": dw1, "output": dw2}, {"hidden1": db1, "output": db2}
    ### END SOLUTION


# %% tags=["selfcheck"]
_weights, _biases = init_params(seed=0)
_rng = np.random.default_rng(2)
_x, _y = _rng.random((5, n_input)), np.eye(n_output)[_rng.integers(0, n_output, 5)]
assert network_forward(_x, _weights, _biases).shape == (5, n_output), "logits are [N, 10]"
_loss, _dweights, _dbiases = network_gradients(_x, _y, _weights, _biases)
assert np.isclose(_loss, softmax_cross_entropy(network_forward(_x, _weights, _biases), _y))
for _key in ("hidden1", "output"):
    assert _dweights[_key].shape == _weights[_key].shape, f"dweights['{_key}'] has W's shape"
    assert _dbiases[_key].shape == _biases[_key].shape, f"dbiases['{_key}'] has b's shape"
# spot-check a few entries of each gradient against centred differences
for _group, _ps, _grads in (("weights", _weights, _dweights), ("biases", _biases, _dbiases)):
    for _key in ("hidden1", "output"):
        _flat = _ps[_key].reshape(-1)  # a view: changing it changes the parameter
        for _i in _rng.choice(_flat.size, 3, replace=False):
            _old = _flat[_i]
            _flat[_i] = _old + 1e-5
            _plus = softmax_cross_entropy(network_forward(_x, _weights, _biases), _y)
            _flat[_i] = _old - 1e-5
            _minus = softmax_cross_entropy(network_forward(_x, _weights, _biases), _y)
            _flat[_i] = _old
            _num = (_plus - _minus) / 2e-5
            assert rel_error(_grads[_key].reshape(-1)[_i], _num) < 1e-5, \
                f"d{_group}['{_key}'] disagrees with centred differences"
print("network_gradients: shapes right, spot checks agree with centred differences")

# %% [markdown]
# ## What TensorFlow does for you
#
# `tf.GradientTape` records the forward pass and runs exactly this backward sweep automatically.
# Below, the same network is written with TensorFlow operations (in `float64`), and the plot shows
# the relative error between its gradients and yours: with a correct backward pass they agree to
# 11 digits or more (the last digits differ only because sums are added up in another order).

# %% tags=["demo"]
import tensorflow as tf  # noqa: E402

_params = {f"weights/{k}": tf.Variable(v) for k, v in _weights.items()}
_params.update({f"biases/{k}": tf.Variable(v) for k, v in _biases.items()})
with tf.GradientTape() as tape:
    _hidden = tf.nn.relu(tf.matmul(tf.constant(_x), _params["weights/hidden1"])
                         + _params["biases/hidden1"])
    _logits = tf.matmul(_hidden, _params["weights/output"]) + _params["biases/output"]
    _tf_loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=_y, logits=_logits))
_tape = dict(zip(_params, tape.gradient(_tf_loss, list(_params.values())), strict=True))
_mine = {f"weights/{k}": v for k, v in _dweights.items()}
_mine.update({f"biases/{k}": v for k, v in _dbiases.items()})
_errors = [max(rel_error(_mine[k], _tape[k].numpy()), 1e-18) for k in _params]
plt.figure(figsize=(6, 3))
plt.bar([k.replace("/", "\n") for k in _params], _errors)
plt.yscale("log")
plt.axhline(1e-7, color="red", ls="--", lw=1, label="1e-7: the grader's tolerance")
plt.ylabel("relative error vs tf.GradientTape")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Your gradients can train the network
#
# With the gradients in hand, gradient descent is one line per parameter:
# $W \leftarrow W - \eta\, \partial L / \partial W$. A few hundred steps on mini-batches of MNIST
# already bring the loss down (the MNIST assignment does the same with TensorFlow's optimizer).

# %% tags=["demo"]
from coursekit import input_data  # noqa: E402

mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
weights, biases = init_params(seed=0)
costs = []
for _ in range(300):
    batch_x, batch_y = mnist.train.next_batch(50)
    loss, dweights, dbiases = network_gradients(batch_x.astype(float), batch_y.astype(float),
                                                weights, biases)
    for key in ("hidden1", "output"):
        weights[key] -= 0.1 * dweights[key]
        biases[key] -= 0.1 * dbiases[key]
    costs.append(loss)
_val_logits = network_forward(mnist.validation.images.astype(float), weights, biases)
print("validation accuracy after 300 steps:",
      np.mean(np.argmax(_val_logits, axis=1) == np.argmax(mnist.validation.labels, axis=1)))
plt.figure(figsize=(5, 3))
plt.plot(costs)
plt.xlabel("step")
plt.ylabel("loss on the mini-batch")
plt.show()


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
