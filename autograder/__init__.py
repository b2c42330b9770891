"""Auto-graded exercises for "Neural Networks with TensorFlow"."""

__version__ = "0.1.0"
