"""Two more independent correct solutions of three assignments, for the similarity check: each
function's body written afresh, with other idioms and another structure than the reference and
than the tests' ``DIFFERENT`` (where the docstring prescribes the steps, as for the numerical
gradient or the network's backward pass, they follow the same steps, as a student would).

``OWN[assignment][name][function]`` is the body (after the docstring) of ``function``.
"""

from __future__ import annotations

OWN: dict[str, dict[str, dict[str, str]]] = {
    "losses": {
        "own-a": {
            "squared_loss": """
                diff = np.asarray(h) - np.asarray(y)
                return float(np.dot(diff, diff) / diff.size)
            """,
            "binary_cross_entropy": """
                p = np.minimum(np.maximum(h, eps), 1 - eps)
                per_example = np.where(y == 1, -np.log(p), -np.log(1 - p))
                return float(per_example.mean())
            """,
            "softmax": """
                exps = np.exp(z - z.max(axis=1)[:, None])
                return exps / exps.sum(axis=1)[:, None]
            """,
            "softmax_cross_entropy": """
                m = logits.max(axis=1, keepdims=True)
                lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
                picked = (labels * logits).sum(axis=1)
                return float(np.mean(lse - picked))
            """,
            "tf_squared_loss": """
                d = h - y
                return tf.reduce_mean(d * d)
            """,
            "tf_binary_cross_entropy": """
                p = tf.minimum(tf.maximum(h, eps), 1.0 - eps)
                per = y * tf.math.log(p) + (1.0 - y) * tf.math.log(1.0 - p)
                return -tf.reduce_mean(per)
            """,
            "tf_softmax": """
                m = tf.reduce_max(z, axis=1, keepdims=True)
                ez = tf.exp(z - m)
                return ez / tf.reduce_sum(ez, 1, keepdims=True)
            """,
            "tf_softmax_cross_entropy": """
                log_probs = tf.nn.log_softmax(logits, axis=1)
                return tf.reduce_mean(-tf.reduce_sum(labels * log_probs, axis=1))
            """,
        },
        "own-b": {
            "squared_loss": """
                n = len(h)
                s = sum((a - b) ** 2 for a, b in zip(h, y))
                return float(s / n)
            """,
            "binary_cross_entropy": """
                clipped = np.clip(h, eps, 1.0 - eps)
                pos = y * np.log(clipped)
                neg = (1.0 - y) * np.log1p(-clipped)
                return float(-(pos + neg).sum() / len(y))
            """,
            "softmax": """
                return np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))
            """,
            "softmax_cross_entropy": """
                idx = np.argmax(labels, axis=1)
                rows = np.arange(len(idx))
                top = np.max(logits, axis=1)
                lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
                return float(np.mean(lse - logits[rows, idx]))
            """,
            "tf_squared_loss": """
                return tf.reduce_mean(tf.math.squared_difference(h, y))
            """,
            "tf_binary_cross_entropy": """
                hc = tf.clip_by_value(h, eps, 1 - eps)
                return tf.reduce_mean(-(y * tf.math.log(hc)) - (1 - y) * tf.math.log(1 - hc))
            """,
            "tf_softmax": """
                e = tf.exp(z - tf.reduce_max(z, 1, keepdims=True))
                s = tf.reduce_sum(e, 1, keepdims=True)
                return tf.divide(e, s)
            """,
            "tf_softmax_cross_entropy": """
                m = tf.reduce_max(logits, axis=1, keepdims=True)
                lse = tf.squeeze(m, 1) + tf.math.log(tf.reduce_sum(tf.exp(logits - m), axis=1))
                return tf.reduce_mean(lse - tf.reduce_sum(labels * logits, axis=1))
            """,
        },
    },
    "backprop": {
        "own-a": {
            "sin_of_square": """
                sq = x * x
                return np.sin(sq), 2 * x * np.cos(sq)
            """,
            "sigmoid_neuron": """
                s = sigmoid(w * x + b)
                err = s - t
                grad_a = err * s * (1.0 - s)
                return 0.5 * err * err, grad_a * x, grad_a
            """,
            "numerical_gradient": """
                g = np.zeros_like(x, dtype=float)
                it = np.nditer(x, flags=["multi_index"])
                while not it.finished:
                    i = it.multi_index
                    saved = x[i]
                    x[i] = saved + h
                    up = f(x)
                    x[i] = saved - h
                    down = f(x)
                    x[i] = saved
                    g[i] = (up - down) / (2 * h)
                    it.iternext()
                return g
            """,
            "affine_forward": """
                return np.dot(x, w) + b
            """,
            "affine_backward": """
                return dout.dot(w.T), x.T.dot(dout), np.sum(dout, axis=0)
            """,
            "relu_forward": """
                return np.where(x > 0, x, 0.0)
            """,
            "relu_backward": """
                mask = (x > 0).astype(float)
                return dout * mask
            """,
            "softmax_cross_entropy_backward": """
                n = logits.shape[0]
                p = softmax(logits)
                return (p - y) / n
            """,
            "network_forward": """
                a1 = affine_forward(x, weights["hidden1"], biases["hidden1"])
                h1 = relu_forward(a1)
                return affine_forward(h1, weights["output"], biases["output"])
            """,
            "network_gradients": """
                z1 = affine_forward(x, weights["hidden1"], biases["hidden1"])
                r1 = relu_forward(z1)
                scores = affine_forward(r1, weights["output"], biases["output"])
                grad_scores = softmax_cross_entropy_backward(scores, y)
                grad_r1, grad_w2, grad_b2 = affine_backward(grad_scores, r1, weights["output"])
                grad_z1 = relu_backward(grad_r1, z1)
                grad_x, grad_w1, grad_b1 = affine_backward(grad_z1, x, weights["hidden1"])
                dweights = {"hidden1": grad_w1, "output": grad_w2}
                dbiases = {"hidden1": grad_b1, "output": grad_b2}
                return softmax_cross_entropy(scores, y), dweights, dbiases
            """,
        },
        "own-b": {
            "sin_of_square": """
                return float(np.sin(x ** 2)), float(2 * x * np.cos(x ** 2))
            """,
            "sigmoid_neuron": """
                out = 1 / (1 + np.exp(-(w * x + b)))
                delta = (out - t) * out * (1 - out)
                grads = (delta * x, delta)
                return 0.5 * (out - t) ** 2, grads[0], grads[1]
            """,
            "numerical_gradient": """
                grad = np.zeros(x.shape, dtype=float)
                for j in range(x.size):
                    keep = x.flat[j]
                    x.flat[j] = keep + h
                    hi = f(x)
                    x.flat[j] = keep - h
                    lo = f(x)
                    x.flat[j] = keep
                    grad.flat[j] = (hi - lo) / (2.0 * h)
                return grad
            """,
            "affine_forward": """
                out = x.dot(w)
                out += b
                return out
            """,
            "affine_backward": """
                dw = np.einsum("nd,nm->dm", x, dout)
                db = dout.sum(0)
                dx = np.einsum("nm,dm->nd", dout, w)
                return dx, dw, db
            """,
            "relu_forward": """
                out = x.copy()
                out[out < 0] = 0
                return out
            """,
            "relu_backward": """
                dx = np.array(dout, copy=True)
                dx[x <= 0] = 0
                return dx
            """,
            "softmax_cross_entropy_backward": """
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs /= probs.sum(axis=1, keepdims=True)
                return (probs - y) / len(logits)
            """,
            "network_forward": """
                h = np.maximum(0, x @ weights["hidden1"] + biases["hidden1"])
                return h @ weights["output"] + biases["output"]
            """,
            "network_gradients": """
                w1, w2 = weights["hidden1"], weights["output"]
                b1, b2 = biases["hidden1"], biases["output"]
                pre = x @ w1 + b1
                hid = np.maximum(pre, 0)
                out = hid @ w2 + b2
                n = x.shape[0]
                d_out = (softmax(out) - y) / n
                grads_w = {"output": hid.T @ d_out}
                grads_b = {"output": d_out.sum(axis=0)}
                d_pre = (d_out @ w2.T) * (pre > 0)
                grads_w["hidden1"] = x.T @ d_pre
                grads_b["hidden1"] = d_pre.sum(axis=0)
                return softmax_cross_entropy(out, y), grads_w, grads_b
            """,
        },
    },
    "gradient_descent": {
        "own-a": {
            "cost": """
                err = X @ theta - y
                return float(np.mean(err ** 2) / 2)
            """,
            "gradient": """
                errors = predict(X, theta) - y
                return np.dot(X.T, errors) / X.shape[0]
            """,
            "batch_gradient_descent": """
                params = np.array(theta, dtype=float, copy=True)
                history = np.empty(n_epochs + 1)
                history[0] = cost(X, y, params)
                for epoch in range(1, n_epochs + 1):
                    params = params - learning_rate * gradient(X, y, params)
                    history[epoch] = cost(X, y, params)
                    if not np.isfinite(history[epoch]):
                        return params, history[:epoch + 1]
                return params, history
            """,
            "stochastic_gradient_descent": """
                rng = np.random.default_rng(seed)
                params = np.array(theta, dtype=float, copy=True)
                history = [cost(X, y, params)]
                m = X.shape[0]
                for epoch in range(n_epochs):
                    for j in rng.permutation(m):
                        xj, yj = X[j:j + 1], y[j:j + 1]
                        params = params - learning_rate * gradient(xj, yj, params)
                        history.append(cost(X, y, params))
                        if not np.isfinite(history[-1]):
                            return params, np.asarray(history)
                return params, np.asarray(history)
            """,
            "minibatch_gradient_descent": """
                rng = np.random.default_rng(seed)
                params = np.array(theta, dtype=float, copy=True)
                history = [cost(X, y, params)]
                m = X.shape[0]
                for epoch in range(n_epochs):
                    perm = rng.permutation(m)
                    batches = [perm[i:i + batch_size] for i in range(0, m, batch_size)]
                    for idx in batches:
                        params = params - learning_rate * gradient(X[idx], y[idx], params)
                        history.append(cost(X, y, params))
                        if not np.isfinite(history[-1]):
                            return params, np.asarray(history)
                return params, np.asarray(history)
            """,
        },
        "own-b": {
            "cost": """
                m = len(y)
                r = np.subtract(predict(X, theta), y)
                return float(np.sum(np.square(r)) / (2 * m))
            """,
            "gradient": """
                m = X.shape[0]
                g = np.zeros_like(theta, dtype=float)
                for xi, yi in zip(X, y):
                    g += (xi @ theta - yi) * xi
                return g / m
            """,
            "batch_gradient_descent": """
                t = np.copy(theta).astype(float)
                hist = [cost(X, y, t)]
                epoch = 0
                while epoch < n_epochs:
                    t = t - learning_rate * gradient(X, y, t)
                    hist.append(cost(X, y, t))
                    epoch += 1
                    if np.isnan(hist[-1]) or np.isinf(hist[-1]):
                        break
                return t, np.array(hist)
            """,
            "stochastic_gradient_descent": """
                gen = np.random.default_rng(seed)
                current = np.asarray(theta, dtype=float).copy()
                trace = [cost(X, y, current)]
                for _ in range(n_epochs):
                    order = gen.permutation(len(y))
                    k = 0
                    while k < len(order):
                        idx = order[k:k + 1]
                        current = current - learning_rate * gradient(X[idx], y[idx], current)
                        trace.append(cost(X, y, current))
                        if not np.all(np.isfinite(trace[-1])):
                            return current, np.array(trace)
                        k += 1
                return current, np.array(trace)
            """,
            "minibatch_gradient_descent": """
                def steps(order):
                    for first in range(0, len(order), batch_size):
                        yield order[first:first + batch_size]

                gen = np.random.default_rng(seed)
                current = np.asarray(theta, dtype=float).copy()
                trace = [cost(X, y, current)]
                for _ in range(n_epochs):
                    for idx in steps(gen.permutation(len(y))):
                        current = current - learning_rate * gradient(X[idx], y[idx], current)
                        trace.append(cost(X, y, current))
                        if not np.all(np.isfinite(trace[-1])):
                            return current, np.array(trace)
                return current, np.array(trace)
            """,
        },
    },
}
