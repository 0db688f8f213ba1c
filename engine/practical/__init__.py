"""The practical part of an exam (操作技能考核): stored scenarios and their versions,
practical tasks of exam definitions, candidates' simulation attempts with their
append-only action logs and score sheets, and human raters (考评员) with agreement
statistics. See docs/scenarios.md ("In the product")."""
