"""RQ: connections, queues, thin jobs that call one engine function, the worker and the sweeper."""
