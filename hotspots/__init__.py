"""Hot-spot analysis of cases for planners: aggregated statistics served and cached."""
