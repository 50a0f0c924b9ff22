"""Readiness for the national evaluation (DESIGN 17): inspection points' checklists and daily checks, mock and
official evaluation, and the task breakdown table (创建任务分解表)."""
