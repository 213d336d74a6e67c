"""Workload: what the interviews ask of the plan — samplers, the compiled script, arrivals."""
