"""stopline's benchmarks: `make bench` runs them all; each prints medians and ratios."""
