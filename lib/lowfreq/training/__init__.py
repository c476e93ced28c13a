"""Training: the zoo's training loop (lowfreq.training.train)."""
