"""Results administration: publication to candidates, export, appeals (成绩复核), surveys (满意度调查)."""
