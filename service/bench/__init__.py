"""Benchmarks behind `safeaccom bench`."""
