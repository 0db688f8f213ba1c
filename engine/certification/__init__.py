"""Certification: result rules, eligibility, certificate numbering and issue, registration import."""
