"""Test support shared by the test suite and the benchmarks (bench/): real servers started locally."""
