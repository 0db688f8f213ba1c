"""itembank/irt"""
