"""Ready for the national evaluation (DESIGN 17): each point type's checklist, the points' daily readiness check
(每日自查) and its board, the task breakdown table (创建任务分解表), and the mock evaluation's rounds (模拟测评,
mock.py) and the official evaluation's deductions (official.py) on the same checklists."""
