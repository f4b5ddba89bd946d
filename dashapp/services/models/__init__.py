"""Model operations: registry (aliases and their history), features, training (the retrain job's work),
validation gates, shadow evaluation, drift and explanations. See docs/MODELS.md."""
