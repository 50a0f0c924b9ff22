"""Cases: reports become cases, and a case finds its units by the duty lists (职责清单 as routing rows).

So far: routing (engine/cases/routing.py) decides the lead (主办) and cooperating (协办) units of a matter in a
grid, and names the duty lists' conflicts and gaps; engine/cases/duties.py turns a written duty list into rows.
"""
