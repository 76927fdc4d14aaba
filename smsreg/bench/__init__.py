"""`make bench`: throughput, latency, CPU and memory of a real `smsreg run` against the simulator.

    python -m smsreg.bench [--scenarios replies,registrations,...] [--scale 0.1]
"""
