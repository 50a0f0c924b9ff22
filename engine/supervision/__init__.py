"""Late work going up the tiers: the poller that runs due timeline steps, and the supervisors' boards and
actions (催办, 督办, 挂牌督办)."""
