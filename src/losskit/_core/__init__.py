"""The loss-agnostic core: namespaces and dtypes, validation, reduction, stable primitives."""
