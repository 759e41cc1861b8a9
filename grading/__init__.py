"""The teacher's side of the workbook: hidden checks and the harness that grades one
answer. Not part of the installed ``companion`` package, and never copied into a
student notebook. ``tools/grade.py`` is the command."""
