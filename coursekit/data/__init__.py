"""MNIST for the notebooks: the raw files, verified (``mnist``), and the lecture's API (``input_data``)."""
