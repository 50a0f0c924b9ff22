"""People: staff and their positions, who answers for each grid, street and unit (包片、包点、包联), the chain
above a task, and the on-call roster (值班表). Accounts sign in; people answer for things."""
