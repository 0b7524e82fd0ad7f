"""`make bench`: the project against bare Temporal on the same server, in the same run.

`python -m bench` (default sizes, about five minutes on two cores) or
`python -m bench --full`. Each figure is measured at least twice, the bare
baseline and the project interleaved (bare, project, bare, project), and
reported as a ratio project / bare, because on a shared machine absolute
times drift and ratios hold. Results go to docs/BENCHMARKS.md and
docs/bench-results/*.json. Everything talks to 127.0.0.1 only, is bounded in
count and in time, and stops by itself. Nothing here asserts a speed.
"""
