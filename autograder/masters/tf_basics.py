# Master of the assignment `tf_basics`. `autograder generate tf_basics` makes from it the student
# notebook (assignments/) and the reference solution (solutions/). Solution regions are marked the
# nbgrader way; cells tagged "demo" and "selfcheck" run in the notebook but not while grading.

# %% [markdown]
# # TensorFlow basics: constants, sessions, variables, placeholders
#
# TensorFlow can run a computation in two styles, and this course uses both:
#
# * **TensorFlow 1, graph mode** (the lecture's code). You first *describe* the computation as a
#   graph of operations; nothing is computed yet. A `Session` then *runs* the parts of the graph
#   you ask for. Today's TensorFlow still has this API under `tf.compat.v1`.
# * **TensorFlow 2, eager mode** (TensorFlow's default today). Every operation runs as soon as you
#   call it and gives you its value at once, like NumPy.
#
# We do **not** switch eager execution off for the whole notebook (that is what
# `tf.compat.v1.disable_eager_execution()` would do). Instead, each graph-mode example builds its
# own graph inside `with tf.Graph().as_default():` and runs it with a `tf.compat.v1.Session`.
# Outside such a block, TensorFlow is eager as usual.
#
# You implement eight small functions: `lecture_constants`, `add_and_multiply`, `run_in_session`,
# `build_counter`, `run_counter`, `add_placeholders`, `eager_add_and_multiply` and
# `eager_counter`. Replace each `raise NotImplementedError(...)` line with your code. Each function
# has a short self-check after it; the grader runs many more checks than these.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's log lines quiet
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1

# %% [markdown]
# ## 1. Constants and operations build a graph
#
# In graph mode, `tf.constant([1, 2, 3])` computes nothing. It adds a *node* to the graph (an
# operation of type `Const`) and returns a `tf.Tensor`: a handle on the value that node *will*
# produce when the graph runs. The tensor already knows its **dtype** (Python integers become
# `int32`) and its **shape** (`(3,)`, a vector of three numbers), but it has no value yet.
#
# Every graph-mode example below runs inside a block like this one:
#
# ```python
# graph = tf.Graph()
# with graph.as_default():          # new nodes go into `graph`
#     a = tf.constant([1, 2, 3])
# ```

# %%
def lecture_constants():
    """The lecture's two constant tensors, added to the current default graph.

    Call it inside ``with tf.Graph().as_default():``.

    Returns:
        ``(a, b)``: two int32 graph tensors of shape ``(3,)`` made with ``tf.constant``;
        ``a`` holds ``[1, 2, 3]`` and ``b`` holds ``[4, 5, 6]``.
    """
    ### BEGIN SOLUTION
    a = tf.constant([1, 2, 3])
    b = tf.constant([4, 5, 6])
    return a, b
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default():
    _a, _b = lecture_constants()
    print(_a)  # a symbolic tensor: a name, a shape and a dtype, but no value
    assert _a.dtype == tf.int32 and _b.dtype == tf.int32, "use Python ints: the dtype is int32"
    assert _a.shape.as_list() == [3] and _b.shape.as_list() == [3], "a and b have shape (3,)"
print("lecture_constants: dtype and shape look right")

# %% [markdown]
# Operations on tensors add more nodes. `a + b` (or `tf.add(a, b)`) adds an addition node whose
# inputs are `a` and `b`; `a * b` (or `tf.multiply(a, b)`) multiplies *element by element*. The
# results are again symbolic tensors of the same shape and dtype as the inputs.

# %%
def add_and_multiply(a, b):
    """Element-wise sum and product of two tensors, as new operations of the graph.

    Args:
        a, b: tensors of the same shape and dtype (e.g. int32 of shape ``(3,)``).

    Returns:
        ``(total, product)``: two tensors of the same shape and dtype as ``a``, where
        ``total[i] = a[i] + b[i]`` and ``product[i] = a[i] * b[i]``. In graph mode they are
        symbolic; nothing is computed until a session runs them.
    """
    ### BEGIN SOLUTION
    total = a + b
    product = a * b
    return total, product
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default():
    _total, _product = add_and_multiply(*lecture_constants())
    print(_total, _product, sep="\n")
    assert _total.dtype == tf.int32 and _product.dtype == tf.int32, "int32 in, int32 out"
    assert _total.shape.as_list() == [3] and _product.shape.as_list() == [3], "shape (3,) out"
print("add_and_multiply: dtype and shape look right")

# %% [markdown]
# ### A picture of the graph
#
# The helper below draws the operations of a graph as boxes (name and type) with an arrow for
# every input. It is given; you do not need to change it.

# %%
def draw_graph(graph, title="", ax=None):
    """Draw the operations of ``graph``: a box per operation, an arrow from each input."""
    ops = graph.get_operations()
    column = {}
    for op in ops:  # ops come in creation order, so an op's inputs are placed before it
        column[op.name] = 1 + max((column.get(t.op.name, 0) for t in op.inputs), default=-1)
    rows = {}
    position = {}
    for op in ops:
        row = rows.get(column[op.name], 0)
        rows[column[op.name]] = row + 1
        position[op.name] = (column[op.name], -row)
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 * (1 + max(rows)), 1.2 * (1 + max(rows.values()))))
    for op in ops:
        for t in op.inputs:
            ax.annotate("", xy=position[op.name], xytext=position[t.op.name],
                        arrowprops={"arrowstyle": "->", "shrinkA": 22, "shrinkB": 22})
    for op in ops:
        ax.text(*position[op.name], f"{op.name}\n{op.type}", ha="center", va="center",
                fontsize=9, bbox={"boxstyle": "round", "facecolor": "lightyellow"})
    ax.set_xlim(-0.6, max(rows) + 0.6)
    ax.set_ylim(-max(rows.values()) + 0.5, 0.5)
    ax.set_title(title)
    ax.axis("off")
    return ax


# %% tags=["demo"]
lecture_graph = tf.Graph()
with lecture_graph.as_default():
    add_and_multiply(*lecture_constants())
draw_graph(lecture_graph, "the lecture's graph: a + b and a * b")
plt.show()

# %% [markdown]
# ## 2. A session runs the graph
#
# A `tf.compat.v1.Session` executes a graph. `sess.run(fetches)` computes the tensors you ask for
# (and only the nodes they need) and returns their values as NumPy arrays. `fetches` may be one
# tensor or a list of tensors; the result has the same structure. A session made inside
# `with graph.as_default():` runs that graph; `with tf1.Session() as sess:` closes it afterwards.
#
# Some graphs need values from outside (the placeholders of part 4). `sess.run` takes them in its
# `feed_dict` argument, a dict from tensor to value.

# %%
def run_in_session(fetches, feed_dict=None):
    """Run ``fetches`` in a new session on the current default graph and return their values.

    Args:
        fetches: a tensor, or a list of tensors, of the current default graph.
        feed_dict: ``None``, or a dict from placeholder tensor to the value to feed it.

    Returns:
        What ``sess.run`` returns: a NumPy array for one tensor, a list of NumPy arrays for a list
        of tensors, with the tensors' dtypes and shapes.
    """
    ### BEGIN SOLUTION
    with tf1.Session() as sess:
        return sess.run(fetches, feed_dict=feed_dict)
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default():
    _total, _product = add_and_multiply(*lecture_constants())
    _values = run_in_session([_total, _product])
    print("total =", _values[0], " product =", _values[1])
    assert np.array_equal(_values[0], [5, 7, 9]), "[1, 2, 3] + [4, 5, 6] should be [5, 7, 9]"
    assert np.array_equal(_values[1], [4, 10, 18]), "[1, 2, 3] * [4, 5, 6] should be [4, 10, 18]"
print("run_in_session: the lecture's values come out")

# %% tags=["demo"]
with tf.Graph().as_default():
    _a, _b = lecture_constants()
    _total, _product = add_and_multiply(_a, _b)
    _values = dict(zip(["a", "b", "a + b", "a * b"],
                       run_in_session([_a, _b, _total, _product]), strict=True))
plt.figure(figsize=(6, 3))
for i, (label, value) in enumerate(_values.items()):
    plt.bar(np.arange(3) + 0.2 * (i - 1.5), value, width=0.2, label=label)
plt.xticks(range(3), ["element 0", "element 1", "element 2"])
plt.legend()
plt.title("the values after sess.run")
plt.show()

# %% [markdown]
# ## 3. Variables hold state and must be initialised
#
# A constant never changes. A `tf.Variable` holds a value that *persists between* `sess.run`
# calls and can be changed by assignment operations, which is what the weights of a network need.
# Creating a variable only adds nodes to the graph: the variable has no value in a session until
# its initialiser runs there. `tf1.global_variables_initializer()` is one operation that
# initialises every variable of the graph; run it first, with
# `sess.run(tf1.global_variables_initializer())`. Reading a variable before that raises a
# `FailedPreconditionError`.
#
# The classic first example is a counter: a variable that starts at 0 and an operation that adds
# 1 to it each time it runs, made with `tf1.assign_add(count, 1)` (or `count.assign_add(1)`).
# Note that `count + 1` alone would only *compute* a new value; it does not store it.

# %%
def build_counter():
    """A counter in the current default graph: a variable and the operation that increments it.

    Returns:
        ``(count, increment)``: ``count`` is a ``tf.Variable`` of dtype int32 and shape ``()``
        whose initial value is 0; ``increment`` is an operation that adds 1 to ``count`` each
        time a session runs it.
    """
    ### BEGIN SOLUTION
    count = tf.Variable(0)
    increment = tf1.assign_add(count, 1)
    return count, increment
    ### END SOLUTION


# %% tags=["demo"]
with tf.Graph().as_default():
    _count, _increment = build_counter()
    with tf1.Session() as _sess:
        try:
            _sess.run(_count)
        except tf.errors.FailedPreconditionError as _error:
            print("reading before initialising fails:", type(_error).__name__)
        _sess.run(tf1.global_variables_initializer())
        print("after initialising, count =", _sess.run(_count))

# %% [markdown]
# Now use a counter: open a session, initialise the variables, run `increment` `n` times, then
# read `count`.

# %%
def run_counter(count, increment, n):
    """Initialise the graph's variables, run ``increment`` ``n`` times, return ``count``'s value.

    Args:
        count: an int32 scalar ``tf.Variable`` of the current default graph.
        increment: an operation that adds 1 to ``count``.
        n: how many times to run ``increment`` (an int, 0 or more).

    Returns:
        int: the value of ``count`` after ``n`` increments (its initial value plus ``n``), read
        in the same session that ran the increments.
    """
    ### BEGIN SOLUTION
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        for _ in range(n):
            sess.run(increment)
        return int(sess.run(count))
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default():
    _count, _increment = build_counter()
    _value = run_counter(_count, _increment, 3)
    assert _value == 3, "a counter from 0, incremented 3 times, should read 3"
print("run_counter: 0 incremented 3 times gives", _value)

# %% [markdown]
# ## 4. Placeholders are fed at run time
#
# A placeholder is a node with no value of its own: `tf1.placeholder(tf.float32)` promises a
# float32 value that arrives when the graph runs, through `feed_dict`. The same graph can then
# run on different data each time, which is how the MNIST assignment feeds batch after batch of
# images. Leave the shape out (`shape=None`) and any shape can be fed:
#
# ```python
# sess.run(total, feed_dict={a: 3, b: 4.5})              # 7.5
# sess.run(total, feed_dict={a: [1, 3], b: [2, 4]})      # [3., 7.]
# ```

# %%
def add_placeholders():
    """Two float32 placeholders and their sum, in the current default graph.

    Returns:
        ``(a, b, total)``: ``a`` and ``b`` are float32 placeholders that accept values of any
        shape (``shape=None``); ``total`` is the float32 tensor ``a + b``, whose value depends on
        what is fed to ``a`` and ``b``.
    """
    ### BEGIN SOLUTION
    a = tf1.placeholder(tf.float32)
    b = tf1.placeholder(tf.float32)
    return a, b, a + b
    ### END SOLUTION


# %% tags=["selfcheck"]
with tf.Graph().as_default():
    _a, _b, _total = add_placeholders()
    assert _a.dtype == tf.float32 and _b.dtype == tf.float32, "the placeholders are float32"
    _first = run_in_session(_total, {_a: 3, _b: 4.5})
    _second = run_in_session(_total, {_a: [1, 3], _b: [2, 4]})
    assert np.isclose(_first, 7.5), "feeding 3 and 4.5 should give 7.5"
    assert np.allclose(_second, [3, 7]), "feeding [1, 3] and [2, 4] should give [3, 7]"
print("add_placeholders: one graph, two feeds:", _first, _second)

# %% [markdown]
# ## 5. The same in TensorFlow 2: eager execution
#
# Outside a `with tf.Graph().as_default():` block, TensorFlow 2 runs every operation at once.
# `tf.constant([1, 2, 3]) + tf.constant([4, 5, 6])` is a tensor that already *has* its value,
# `[5, 7, 9]`; `.numpy()` reads it as a NumPy array. There is no graph to build and no session
# to open. Variables get their value when they are created, so there is no initialiser to run, and
# `count.assign_add(1)` changes the variable on the spot. Placeholders disappear too: the values
# you would have fed are simply the arguments of a Python function.

# %%
def eager_add_and_multiply(a, b):
    """TensorFlow 2 style: the element-wise sum and product, computed right away.

    Args:
        a, b: eager tensors of the same shape and dtype (e.g. ``tf.constant([1, 2, 3])``).

    Returns:
        ``(total, product)``: eager ``tf.Tensor``s (not NumPy arrays) of the same shape and
        dtype as ``a``, holding ``a + b`` and ``a * b`` element by element.
    """
    ### BEGIN SOLUTION
    return tf.add(a, b), tf.multiply(a, b)
    ### END SOLUTION


# %% tags=["selfcheck"]
_total, _product = eager_add_and_multiply(tf.constant([1, 2, 3]), tf.constant([4, 5, 6]))
print(_total, _product, sep="\n")  # these tensors carry their values
assert np.array_equal(_total.numpy(), [5, 7, 9]), "[1, 2, 3] + [4, 5, 6] should be [5, 7, 9]"
assert np.array_equal(_product.numpy(), [4, 10, 18]), "the product should be [4, 10, 18]"
print("eager_add_and_multiply: the lecture's values, no session needed")

# %%
def eager_counter(n):
    """TensorFlow 2 style: a counter variable that starts at 0 and is incremented ``n`` times.

    Args:
        n: how many times to add 1 (an int, 0 or more).

    Returns:
        The ``tf.Variable`` itself (int32, shape ``()``), holding ``n``. No session and no
        initialiser: in eager mode the variable has its value from the start.
    """
    ### BEGIN SOLUTION
    count = tf.Variable(0)
    for _ in range(n):
        count.assign_add(1)
    return count
    ### END SOLUTION


# %% tags=["selfcheck"]
_count = eager_counter(3)
assert isinstance(_count, tf.Variable), "return the tf.Variable itself"
assert _count.numpy() == 3, "a counter from 0, incremented 3 times, should read 3"
print("eager_counter:", _count)

# %% [markdown]
# ### Graphs in TensorFlow 2: `tf.function`
#
# TensorFlow 2 still builds graphs when you ask for one: `tf.function` *traces* a Python function
# into a graph, and the function's arguments become placeholders. Below, your
# `eager_add_and_multiply` is traced for two int32 vectors of length 3. Compare the drawing with
# the lecture's graph above: the constants have become placeholders, to be fed at each call.

# %% tags=["demo"]
traced = tf.function(eager_add_and_multiply)
concrete = traced.get_concrete_function(tf.TensorSpec([3], tf.int32), tf.TensorSpec([3], tf.int32))
draw_graph(concrete.graph, "eager_add_and_multiply traced by tf.function")
plt.show()
print("called with new values:", [t.numpy() for t in traced(tf.constant([1, 1, 1]),
                                                            tf.constant([2, 3, 4]))])

# %% [markdown]
# ## Summary
#
# | | TensorFlow 1 (graph mode, `tf.compat.v1`) | TensorFlow 2 (eager) |
# | --- | --- | --- |
# | `a + b` gives | a symbolic tensor, a node of the graph | a tensor with its value |
# | to get the value | `sess.run(total)` in a `Session` | `total.numpy()` |
# | a variable | needs `sess.run(tf1.global_variables_initializer())` | has its value when created |
# | data from outside | a placeholder, fed through `feed_dict` | a function argument |


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
