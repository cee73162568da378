"""cloudlab-lint: policy-as-code checks for a Bootstrap Flux GitOps repository."""

__version__ = "0.1.0"
