"""Tables and plots from the results store, driven by suites and axes."""
