"""Industry benchmark: cohorts of submissions, ordinal statistics and disclosure control."""
