"""One Screen per step or page of the counter."""
