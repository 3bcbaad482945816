"""Text normalisation and language identification."""
