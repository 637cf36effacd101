"""The real-data development set (validation and model selection only): see README.md in this folder."""
