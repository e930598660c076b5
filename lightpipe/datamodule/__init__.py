"""Data side: settings, specs, planner, sampler and DataModules."""
