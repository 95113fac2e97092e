"""`python -m autoenc reliability`: faults, bad input and load, run for real, as figures.

Everything runs in a scratch folder, never in the user's run store: training processes
killed with SIGKILL and resumed (faults.py), a server killed under two runs (faults.py),
every bad-input case (bad_inputs.py), and browser sessions on one server while two runs
train (load.py). The JSON keys are a contract (README); harness.py runs them all.
"""

# Of a class in the load test, the sessions in headless Chromium (the others speak the
# browser's protocol without drawing, as on the students' own laptops): on 2 cores, 6 were
# the most that held a p95 page switch of 3 s with two runs training and every one in Chromium.
LOAD_BROWSERS = 6
