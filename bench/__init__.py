"""Benchmarks: multifolio against vectorbt, bt and backtrader on equal inputs (`python bench/run.py`)."""
