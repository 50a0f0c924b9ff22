"""How units did: indicators recomputed from transitions, scores and rankings among peers, sanctions due,
and what a bulletin shows."""
