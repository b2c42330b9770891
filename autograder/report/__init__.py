"""Pages for people: a report per submission and the class dashboard (HTML, figures embedded)."""
