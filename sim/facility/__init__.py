"""Facility: weather, signals, cooling and supply (generation, battery, dispatch), grid mix, site, costs."""
