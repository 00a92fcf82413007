"""Task data: loading a split from the Hub, a local folder or the bundled samples (loading.py) and
cached tokenised features (features.py)."""
