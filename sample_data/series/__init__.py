"""What each department's sensors in the sample city measure: one module per domain.

:mod:`~sample_data.series.traffic`, :mod:`~sample_data.series.air`, :mod:`~sample_data.series.rain`
and :mod:`~sample_data.series.water` give regular series; :mod:`~sample_data.series.incidents` gives
the incident list. Rivers and incidents read the rain. :class:`sample_data.generator.CityGenerator`
puts them together.
"""
