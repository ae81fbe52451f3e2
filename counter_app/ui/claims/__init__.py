"""零星报销 at the counter: the claim wizard, the claims queue and the claim page."""
