"""Training on generated datasets: the `lightpipe fit` CLI and an example model."""
