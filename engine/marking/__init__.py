"""Scoring a theory sitting item by item, and examiners' marks for rubric (extended) answers.

``sitting_score`` turns a sitting's responses into a Result through each item's own
response processing (``itembank.scoring``); rubric answers wait in ``RubricMark`` rows
until an examiner awards 0..k points (``service``), and the last mark finalizes the result.
"""
