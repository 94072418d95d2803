"""Kubernetes operator for vLLM Semantic Router: each SemanticRouter CR becomes a helm release."""

__version__ = "0.1.0"
