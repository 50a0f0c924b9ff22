"""Ready for the national evaluation (DESIGN 17): each point type's checklist, the points' daily readiness check
(每日自查) and its board, and the task breakdown table (创建任务分解表); mock and official evaluation build on the
same checklists."""
