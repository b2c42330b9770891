"""Similar submissions: fingerprints of each student's own code, every pair scored, the most
alike shown side by side (``autograder similarity``; see docs/similarity.md)."""
