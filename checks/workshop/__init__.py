"""Hosted workshops: a lab server that owns a workshop host's Docker engine and serves learners'
kernels through the control channel (`checks.workshop.labs`, `checks.workshop.server`)."""
