"""Stack guards and the figure writer shared by the analysis tools."""
