"""End-to-end tier: crucial user journeys against a deployed app, and the delivery
pipeline's own tests. See README, "Continuous delivery"."""
