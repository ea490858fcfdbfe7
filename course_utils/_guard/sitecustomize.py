# Loaded by every Python process started with this folder on PYTHONPATH (make test does so):
# installs the course's network guard when COURSE_NETWORK_GUARD=1, notebook kernels included.
import os

if os.environ.get("COURSE_NETWORK_GUARD") == "1":
    from course_utils import netguard

    netguard.install()
