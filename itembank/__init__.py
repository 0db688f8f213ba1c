"""itembank"""
