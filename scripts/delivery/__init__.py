"""The delivery pipeline's parts; scripts/deliver.py puts them in order."""
