"""The simulated city day (issue 7): generated halls, a daily arrival curve, and a simulator that
drives real `hall serve` processes over HTTP in compressed simulated time. Entry point:
`bench/city_day.py`."""
