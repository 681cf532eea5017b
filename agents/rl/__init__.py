"""Training, evaluation and export of the learned agents."""
