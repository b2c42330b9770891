# Master of the assignment `mlp_mnist`. `autograder generate` makes from it the student notebook
# (assignments/), the reference solution (solutions/) and the nbgrader source (course/source/).
# Solution regions are marked the nbgrader way; cells tagged "demo" and "selfcheck" run in the
# notebook but not while grading.

# %% [markdown]
# # A multilayer perceptron learns MNIST
#
# In this assignment you build, train and evaluate the lecture's network: a multilayer perceptron
# (MLP) with one hidden layer of 100 ReLU units that classifies 28x28 images of handwritten digits.
# We use the TensorFlow 1 graph-and-session API, which today's TensorFlow still provides as
# `tf.compat.v1`: first you *describe* the computation as a graph, then a `Session` *runs* it. As
# in the lecture, everything goes into one default graph (the first cell switches TensorFlow 2's
# eager mode off for this notebook).
#
# You implement five functions: `build_model`, `build_loss`, `build_accuracy`, `train` and
# `predict`. Everything else is given and runs as it is. Each function has a short self-check
# after it; the grader runs many more checks than these.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's log lines quiet
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from coursekit import input_data

tf1 = tf.compat.v1
tf1.disable_eager_execution()  # the lecture's graph mode: one default graph, run by a session

# %% [markdown]
# ## The data
#
# MNIST holds 55,000 training images (plus 5,000 for validation) and 10,000 test images. Each
# image is flattened to a vector of 28*28 = 784 grey values in [0, 1]; each label is *one-hot*:
# a vector of 10 numbers, all 0 but a 1 at the position of the digit. The test images' labels are
# kept by the course's grader, which measures your network on them: while you work, measure it on
# the validation images, which it never trains on.

# %%
mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)

# %% tags=["demo"]
print("train images:", mnist.train.images.shape, " labels:", mnist.train.labels.shape)
print("validation:  ", mnist.validation.images.shape, " labels:", mnist.validation.labels.shape)
print("test images: ", mnist.test.images.shape, " (their labels are the grader's)")

train_x, train_y = mnist.train.next_batch(1)
plt.figure(figsize=(3, 3))
plt.imshow(train_x[0].reshape(28, 28), cmap="gray")
plt.title(f"label: {np.argmax(train_y[0])}  (one-hot {train_y[0].astype(int)})", fontsize=8)
plt.axis("off")
plt.show()

# %% [markdown]
# ## The network's shape and parameters
#
# Input layer 784, hidden layer 100, output layer 10 (one score, or *logit*, per class).
# The weights and biases are kept in two dictionaries keyed `'hidden1'` and `'output'`, and start
# from random values drawn from a normal distribution N(0, 0.1).

# %%
n_input = 28 * 28
n_hidden1 = 100
n_output = 10


def init_params(seed=None):
    """Weights and biases of the 784-100-10 network as ``tf.Variable``s drawn from N(0, 0.1).

    Returns ``(weights, biases)``, two dicts keyed ``'hidden1'`` and ``'output'``:
    weights ``[784, 100]`` and ``[100, 10]``, biases ``[100]`` and ``[10]``.
    """
    def normal(shape, offset):
        s = None if seed is None else seed + offset
        return tf.Variable(tf1.random_normal(shape, stddev=0.1, seed=s))

    weights = {
        "hidden1": normal([n_input, n_hidden1], 0),
        "output": normal([n_hidden1, n_output], 1),
    }
    biases = {
        "hidden1": normal([n_hidden1], 2),
        "output": normal([n_output], 3),
    }
    return weights, biases


# %% [markdown]
# ## 1. The forward pass: `build_model`
#
# The hidden layer computes an affine map of its input followed by the ReLU non-linearity,
# `h = max(0, x W1 + b1)`; the output layer is affine only, `logits = h W2 + b2`. The softmax that
# turns logits into probabilities is part of the loss (next step), not of the model.

# %%
def build_model(x, weights, biases):
    """The MLP's forward pass as a TensorFlow graph.

    Args:
        x: float32 tensor ``[batch, 784]``, the flattened images.
        weights: dict with ``'hidden1'`` ``[784, 100]`` and ``'output'`` ``[100, 10]``.
        biases: dict with ``'hidden1'`` ``[100]`` and ``'output'`` ``[10]``.

    Returns:
        float32 tensor ``[batch, 10]``: the logits (no softmax).
    """
    ### BEGIN SOLUTION
    hidden1 = tf.nn.relu(tf.add(tf.matmul(x, weights["hidden1"]), biases["hidden1"]))
    return tf.add(tf.matmul(hidden1, weights["output"]), biases["output"])
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default():
    _w, _b = init_params(seed=1)
    _logits = build_model(tf1.placeholder(tf.float32, [None, n_input]), _w, _b)
    assert _logits.shape.as_list() == [None, n_output], "logits should have shape [batch, 10]"
print("build_model: shape looks right")

# %% [markdown]
# ## 2. The loss: `build_loss`
#
# The loss is the softmax cross-entropy between the logits and the one-hot labels, averaged over
# the examples of the batch. TensorFlow computes the per-example part for you, in a numerically
# stable way: `tf.nn.softmax_cross_entropy_with_logits(labels=..., logits=...)`.

# %%
def build_loss(logits, y):
    """Mean softmax cross-entropy of a batch.

    Args:
        logits: float32 tensor ``[batch, 10]``.
        y: float32 tensor ``[batch, 10]`` of one-hot labels.

    Returns:
        float32 scalar tensor (shape ``[]``): the mean over the batch.
    """
    ### BEGIN SOLUTION
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default(), tf1.Session() as _sess:
    _value = _sess.run(build_loss(tf.zeros([4, n_output]), tf.one_hot([0, 1, 2, 3], n_output)))
    assert np.isclose(_value, np.log(10.0)), "equal logits over 10 classes should cost log(10)"
print("build_loss: uniform logits cost log(10) =", _value)

# %% [markdown]
# ## 3. Accuracy: `build_accuracy`
#
# The predicted class is the position of the largest logit (`tf.argmax`); the accuracy is the
# fraction of examples whose predicted class equals the labelled one.

# %%
def build_accuracy(logits, y):
    """Fraction of the batch classified correctly, as a float32 scalar tensor.

    Args:
        logits: float32 tensor ``[batch, 10]``.
        y: float32 tensor ``[batch, 10]`` of one-hot labels.
    """
    ### BEGIN SOLUTION
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default(), tf1.Session() as _sess:
    _acc = _sess.run(build_accuracy(tf.eye(n_output), tf.eye(n_output)))
    assert np.isclose(_acc, 1.0), "logits that peak at the label should give accuracy 1"
print("build_accuracy: perfect predictions score", _acc)

# %% [markdown]
# ## 4. Training: `train`
#
# Training repeats `n_iter` times: take the next batch of `n_batch` training examples, and run the
# optimizer's training step on it with `sess.run(train_op, feed_dict={x: ..., y: ...})`. Every
# `n_prt` iterations (starting with the first), compute the cost on the current batch, print it and
# keep it, so that you can plot how training went.

# %%
learning_rate = 0.0001
n_batch = 50
n_iter = 2500
n_prt = 250


def train(sess, x, y, train_op, loss, data, n_batch, n_iter, n_prt):
    """Run ``n_iter`` training steps on mini-batches; log the cost every ``n_prt`` steps.

    Args:
        sess: a ``tf.compat.v1.Session`` whose variables are initialised.
        x, y: the placeholders for images ``[None, 784]`` and one-hot labels ``[None, 10]``.
        train_op: the optimizer's step (the result of ``optimizer.minimize(loss)``).
        loss: the scalar loss tensor.
        data: a data set with ``next_batch(n)`` returning ``(images, labels)``.
        n_batch, n_iter, n_prt: batch size, number of steps, logging period.

    Returns:
        list of float: the costs logged at steps 0, n_prt, 2 n_prt, ..., one for each of these
        steps below ``n_iter``.
    """
    ### BEGIN SOLUTION
    costs = []
    for step in range(n_iter):
        batch_x, batch_y = data.next_batch(n_batch)
        sess.run(train_op, feed_dict={x: batch_x, y: batch_y})
        if step % n_prt == 0:
            cost = float(sess.run(loss, feed_dict={x: batch_x, y: batch_y}))
            print(f"Iter : {step}  Cost : {cost:.4f}")
            costs.append(cost)
    return costs
    ### END SOLUTION


# %% tags=["selfcheck"]
class _Steps:  # a data set of four examples, served two at a time
    def __init__(self):
        self.x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], np.float32)
        self.y = self.x @ np.array([[2.0], [-1.0]], np.float32)
        self.served = 0

    def next_batch(self, n):
        rows = [(self.served + i) % 4 for i in range(n)]
        self.served += n
        return self.x[rows], self.y[rows]


with tf.Graph().as_default(), tf1.Session() as _sess:
    _x, _y = tf1.placeholder(tf.float32, [None, 2]), tf1.placeholder(tf.float32, [None, 1])
    _w = tf.Variable(tf.zeros([2, 1]))
    _loss = tf.reduce_mean(tf.square(tf.matmul(_x, _w) - _y))
    _step = tf1.train.GradientDescentOptimizer(0.1).minimize(_loss)
    _sess.run(tf1.global_variables_initializer())
    _data = _Steps()
    _costs = train(_sess, _x, _y, _step, _loss, _data, 2, 30, 10)
    assert len(_costs) == 3, "30 steps logged every 10 should give 3 costs (steps 0, 10, 20)"
    assert _data.served == 60, "train should take one batch of n_batch examples per step"
    assert _costs[-1] < _costs[0], "the cost should go down as train runs the training step"
print("train: 3 costs, going down:", np.round(_costs, 4))


# %% [markdown]
# ## 5. Prediction: `predict`

# %%
def predict(sess, x, logits, images):
    """The predicted class of each image.

    Args:
        sess: the session holding the trained variables.
        x: the images placeholder; logits: the model's output tensor.
        images: float32 array ``[n, 784]``.

    Returns:
        int array ``[n]`` of classes 0-9.
    """
    ### BEGIN SOLUTION
    return np.argmax(sess.run(logits, feed_dict={x: images}), axis=1)
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default(), tf1.Session() as _sess:
    _x = tf1.placeholder(tf.float32, [None, 3])
    _logits = tf.matmul(_x, tf.constant([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]))
    _classes = predict(_sess, _x, _logits, np.array([[1, 0, 0], [0, 1, 0]], np.float32))
    assert list(_classes) == [1, 0], "predict should give the class of the largest logit per row"
print("predict: classes", list(_classes))


# %% [markdown]
# ## Putting it together
#
# The graph: placeholders for a batch of images and labels, the parameters, the model, the loss,
# the accuracy and Adam's training step, all in the default graph, as in the lecture. Then a session
# initialises the variables and trains. (Running the cell again starts from a fresh graph.)

# %% tags=["demo"]
tf1.reset_default_graph()
tf1.set_random_seed(0)
x = tf1.placeholder(tf.float32, [None, n_input])
y = tf1.placeholder(tf.float32, [None, n_output])
weights, biases = init_params(seed=0)
pred = build_model(x, weights, biases)
loss = build_loss(pred, y)
accuracy = build_accuracy(pred, y)
optm = tf1.train.AdamOptimizer(learning_rate).minimize(loss)
init = tf1.global_variables_initializer()

sess = tf1.Session()
sess.run(init)
costs = train(sess, x, y, optm, loss, mnist.train, n_batch, n_iter, n_prt)

plt.figure(figsize=(5, 3))
plt.plot(np.arange(len(costs)) * n_prt, costs, "o-")
plt.xlabel("iteration")
plt.ylabel("cost")
plt.title("training cost")
plt.show()

# %% [markdown]
# ## Evaluation on held-out images
#
# The 5,000 validation images take no part in training, so the accuracy on them tells how well the
# network reads digits it has never seen. (The grader measures the same on the 10,000 test
# images: `check()` shows it.)

# %% tags=["demo"]
val_acc = sess.run(accuracy, feed_dict={x: mnist.validation.images, y: mnist.validation.labels})
print(f"Accuracy on the 5,000 validation images: {val_acc:.4f}")

classes = predict(sess, x, pred, mnist.validation.images[:1])
probs = sess.run(tf.nn.softmax(pred), feed_dict={x: mnist.validation.images[:1]})[0]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3))
ax1.imshow(mnist.validation.images[0].reshape(28, 28), cmap="gray")
ax1.set_title(f"label {np.argmax(mnist.validation.labels[0])}, predicted {classes[0]}")
ax1.axis("off")
ax2.bar(range(n_output), probs)
ax2.set_xticks(range(n_output))
ax2.set_title("softmax probabilities")
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
