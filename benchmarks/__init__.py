"""The benchmark harness behind `closeloop bench`: kept in the source tree, not in the wheel."""
